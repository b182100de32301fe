#!/usr/bin/env bash
# A/B of two builds of the GPU bench on one GPU in one call, alternating A B A B … so that drift of the card shows
# as a spread within each side rather than as a difference between them; the reference eager run beside them.
# Prepare as for run1.sh, plus a second publish of the other build at .device/gpu/publish-b.tar.xz. There:
#   cd .device/gpu/repo && AB_CONFIG=moe-1b AB_REPEATS=2 bash bench/gpu/ab1.sh
# A and B run `train --bridge on` (every bridge operation); results as run1.sh's, named $config-a-N / $config-b-N.
set -uo pipefail
OUT=${OUT:-/tmp/out}
RES=/tmp/res
C=${AB_CONFIG:-moe-1b}
REPEATS=${AB_REPEATS:-2}
mkdir -p "$OUT" "$RES" /tmp/a /tmp/b /tmp/cudalib
export PYTHONUNBUFFERED=1
SITE=/opt/torch/.venv/lib/python3.12/site-packages
TORCH_LIB=$SITE/torch/lib
export LD_LIBRARY_PATH="$TORCH_LIB:$(ls -d $SITE/nvidia/*/lib | paste -sd:):${LD_LIBRARY_PATH:-}"
export ORCHESTRATOR_LIBTORCH=$TORCH_LIB ORCHESTRATOR_NCCL=$SITE/nvidia/nccl/lib
export ORCHESTRATOR_CUDA_KERNELS=/tmp/cudalib/liborchestrator_cuda.so
export ORCHESTRATOR_ATEN_BRIDGE=/tmp/atenlib/liborchestrator_aten.so
LOG=$RES/ab-run.log
pack() { cp "$LOG" "$OUT/" 2>/dev/null; tar -czf "$OUT/results.tgz.tmp" -C "$RES" . 2>/dev/null && mv "$OUT/results.tgz.tmp" "$OUT/results.tgz"; }
trap pack EXIT
say() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$LOG"; }
say "machine"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"
tar -C /tmp/a -xJf .device/gpu/publish.tar.xz & tar -C /tmp/b -xJf .device/gpu/publish-b.tar.xz &
Kernels/native/build.sh /tmp/atenlib python3 > "$RES/native-build.log" 2>&1 || tail -20 "$RES/native-build.log" | tee -a "$LOG"
Kernels/cuda/build.sh /tmp/cudalib /usr/local/cuda-13.0 > "$RES/nvcc.log" 2>&1 || tail -20 "$RES/nvcc.log" | tee -a "$LOG"
wait
run() { # side name
  timeout -k 5 90 /tmp/$1/orchestrator-gpu-bench train --config deploy/configs/$C.json --dtype bfloat16 --grouped on --warmup 2 --steps 5 \
    --bridge on --out "$RES/$2.json" > "$RES/$2.log" 2>&1
  echo "exit $?" >> "$RES/$2.log"; echo "$2: $(grep '^P2' "$RES/$2.log")" | tee -a "$LOG"
}
say "$C: A and B alternating, $REPEATS each"
for i in $(seq 1 "$REPEATS"); do run a "$C-a-$i"; run b "$C-b-$i"; done
say "$C: reference eager"
seq=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["training"]["seq_len"])' deploy/configs/$C.json)
(cd bench/gpu/reference && timeout -k 5 90 python3 train_step.py ../../../deploy/configs/$C.json --best --batch 16 --seq "$seq" --warmup 2 --steps 5 \
  --out "$RES/$C-ref-eager.json") > "$RES/$C-ref-eager.log" 2>&1
grep -v Warning "$RES/$C-ref-eager.log" | tail -1 | tee -a "$LOG"
