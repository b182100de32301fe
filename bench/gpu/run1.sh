#!/usr/bin/env bash
# The one-GPU run (tool `device`, nvidia-h100-x1 or nvidia-h200): everything on GPU 0, one step after
# another, so that ours and the reference are timed on the same card in the same call. Prepare as for
# run.sh (bench/gpu/pack.sh /work/main/.device/gpu; carry ".device/gpu"), then there:
#   cd .device/gpu/repo && bash bench/gpu/run1.sh
# Steps: nvcc and the native bridge to ATen (Kernels/native/build.sh; beside them, the compiled reference's first
# compile of the first config, to fill inductor's cache) -> the bridge's checks (PHASES "native") -> fp8 checks + P3
# -> per config (CONFIGS, default "moe-2b moe-1b"): ours in each of OURS (default "bf16 bf16-bridge fp8": bf16 without
# the bridge, bf16 with every bridge operation, bf16-bridge-gmm with grouped_mm only, bf16-bridge-gmm-adamw with
# grouped_mm and fused AdamW, fp8 without the bridge), reference eager, reference compiled -> host syncs per step
# (SYNC_CONFIG) from two run lengths under bench/gpu/syncs/sync_count.c. If the bridge does not build, the runs go on
# without it (its variants then record that it was not loaded). Results are packed into $OUT every 15 s.
set -uo pipefail
OUT=${OUT:-/tmp/out}
RES=/tmp/res
CONFIGS=${CONFIGS:-"moe-2b moe-1b"}
PHASES=${PHASES:-"native fp8 train syncs"}
OURS=${OURS:-"bf16 bf16-bridge fp8"}
SYNC_CONFIG=${SYNC_CONFIG:-moe-1b}
mkdir -p "$OUT" "$RES" /tmp/orchestrator /tmp/cudalib
export PYTHONUNBUFFERED=1
SITE=/opt/torch/.venv/lib/python3.12/site-packages
TORCH_LIB=$SITE/torch/lib
export LD_LIBRARY_PATH="$TORCH_LIB:$(ls -d $SITE/nvidia/*/lib | paste -sd:):${LD_LIBRARY_PATH:-}"
export ORCHESTRATOR_LIBTORCH=$TORCH_LIB ORCHESTRATOR_NCCL=$SITE/nvidia/nccl/lib
export ORCHESTRATOR_CUDA_KERNELS=/tmp/cudalib/liborchestrator_cuda.so
export ORCHESTRATOR_ATEN_BRIDGE=/tmp/atenlib/liborchestrator_aten.so
LOG=$RES/gpu-run.log
pack() {
  cp "$LOG" "$OUT/" 2>/dev/null
  tar -czf "$OUT/results.tgz.tmp" -C "$RES" . 2>/dev/null && mv "$OUT/results.tgz.tmp" "$OUT/results.tgz"
}
trap pack EXIT
( exec > /dev/null 2>&1; while sleep 15; do pack; done ) &
packer=$!
say() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$LOG"; }
has() { [[ " $PHASES " == *" $1 "* ]]; }
G=/tmp/orchestrator/orchestrator-gpu-bench
REF=bench/gpu/reference

say "machine"
{ nvidia-smi --query-gpu=index,name,memory.total,driver_version,clocks.sm --format=csv,noheader; nproc; } 2>&1 | tee -a "$LOG"
gcc -shared -fPIC -O2 bench/gpu/syncs/sync_count.c -o /tmp/libsynccount.so -ldl 2>&1 | tee -a "$LOG"

# The reference: eager (grouped mm, fused AdamW, bf16 SDPA) or the same compiled per block.
reference() { # config mode(eager|compiled) name warmup steps timeout
  local flags="--best" seq; [[ $2 == compiled ]] && flags="--best --compile on"
  seq=$(seq_of $1)
  (cd $REF && SYNC_COUNT_OUT="$RES/$3.syncs.json" LD_PRELOAD=/tmp/libsynccount.so timeout -k 5 "$6" \
    python3 train_step.py ../../../deploy/configs/$1.json $flags --batch 16 --seq "$seq" --warmup "$4" --steps "$5" \
    --out "$RES/$3.json") > "$RES/$3.log" 2>&1
  echo "exit $?" >> "$RES/$3.log"; grep -v Warning "$RES/$3.log" | tail -3 | tee -a "$LOG"
}
ours() { # config dtype name warmup steps timeout [bridge on|off] [bridge operations]
  SYNC_COUNT_OUT="$RES/$3.syncs.json" LD_PRELOAD=/tmp/libsynccount.so ORCHESTRATOR_ATEN_BRIDGE_OPS="${8:-all}" timeout -k 5 "$6" \
    $G train --config deploy/configs/$1.json --dtype $2 --grouped on --warmup "$4" --steps "$5" --bridge "${7:-off}" \
    --out "$RES/$3.json" > "$RES/$3.log" 2>&1
  echo "exit $?" >> "$RES/$3.log"; tail -3 "$RES/$3.log" | tee -a "$LOG"
}
variant() { # config variant warmup steps timeout: one of OURS
  case $2 in
    bf16) ours $1 bfloat16 "$1-ours-bf16" $3 $4 $5 off ;;
    bf16-bridge) ours $1 bfloat16 "$1-ours-bf16-bridge" $3 $4 $5 on all ;;
    bf16-bridge-gmm) ours $1 bfloat16 "$1-ours-bf16-bridge-gmm" $3 $4 $5 on grouped_mm ;;
    bf16-bridge-gmm-adamw) ours $1 bfloat16 "$1-ours-bf16-bridge-gmm-adamw" $3 $4 $5 on grouped_mm,fused_adamw ;;
    fp8) ours $1 fp8 "$1-ours-fp8" $3 $4 $5 off ;;
    *) echo "unknown variant $2" | tee -a "$LOG" ;;
  esac
}
seq_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["training"]["seq_len"])' deploy/configs/$1.json; }

first=${CONFIGS%% *}
say "nvcc (and the compiled reference's first compile of $first beside it, untimed)"
tar -C /tmp/orchestrator -xJf .device/gpu/publish.tar.xz &
unpacking=$!
has train && { reference "$first" compiled "warm-compile-$first" 1 1 200 & }
warming=$!
Kernels/native/build.sh /tmp/atenlib python3 > "$RES/native-build.log" 2>&1 &
bridging=$!
if ! Kernels/cuda/build.sh /tmp/cudalib /usr/local/cuda-13.0 > "$RES/nvcc.log" 2>&1; then
  tail -40 "$RES/nvcc.log" | tee -a "$LOG"; echo "nvcc failed" | tee -a "$LOG"
fi
if wait $bridging; then
  tail -2 "$RES/native-build.log" | tee -a "$LOG"
else
  grep -E "error|Error" "$RES/native-build.log" | head -30 | tee -a "$LOG"; tail -5 "$RES/native-build.log" | tee -a "$LOG"
  echo "native bridge build failed: the runs go on without it" | tee -a "$LOG"
fi
wait $unpacking $warming

if has native; then
  say "native bridge to ATen: checks against the TorchSharp path"
  timeout -k 5 120 $G native --out "$RES/native.json" > "$RES/native.log" 2>&1
  echo "native exit $?" >> "$RES/native.log"
  tail -14 "$RES/native.log" | tee -a "$LOG"
fi

if has fp8; then
  say "fp8: checks, grouped FP8 experts, P3"
  timeout -k 5 100 $G fp8 --figures p3 --out "$RES/fp8.json" --settings-file /tmp/fp8-settings > "$RES/fp8.log" 2>&1
  echo "fp8 exit $?" >> "$RES/fp8.log"
  grep -vE "^PASS" "$RES/fp8.log" | tail -40 | tee -a "$LOG"
fi
[[ -s /tmp/fp8-settings ]] && export ORCHESTRATOR_FP8_GPU=$(cat /tmp/fp8-settings)

if has train; then
  for c in $CONFIGS; do
    say "$c: ours, reference eager, reference compiled (same GPU, one after another)"
    ours_of=OURS_${c//-/_}  # a per-config list (OURS_moe_2b=...) wins over OURS
    for v in ${!ours_of:-$OURS}; do variant $c $v 2 5 ${OURS_TIMEOUT:-90}; done
    reference $c eager "$c-ref-eager" 2 5 ${REF_TIMEOUT:-90}
    reference $c compiled "$c-ref-compiled" 3 5 ${COMPILE_TIMEOUT:-200}
  done
fi

if has syncs; then
  say "host syncs per step ($SYNC_CONFIG): the same runs with 3 steps instead of 7; per step = difference / 4"
  ours $SYNC_CONFIG bfloat16 "$SYNC_CONFIG-ours-bf16-short" 2 1 60
  reference $SYNC_CONFIG eager "$SYNC_CONFIG-ref-eager-short" 2 1 60
fi

say "summary"
python3 bench/gpu/summary1.py "$RES" 2>&1 | tee "$RES/summary.txt" | tee -a "$LOG"
kill $packer 2>/dev/null
