#!/usr/bin/env bash
# The GPU run (tool `device`, nvidia-h200-x2): builds the CUDA kernels with nvcc, then checks and times
# everything in one call. Run from the repository root; needs the self-contained publish of the
# orchestrator and the GPU bench (both in one folder, without the bundled libtorch) as
# .device/gpu/publish.tar.xz — bench/gpu/pack.sh makes it. Results land in $OUT (results.tgz, the log
# and the summary). The device tool sends the session's checkout, not a helper's worktree, so pack into
# an ignored folder of that checkout and carry it:
#   bench/gpu/pack.sh /work/main/.device/gpu        (here; carry ".device/gpu")
#   cd .device/gpu/repo && PHASES="fp8 demo nccl train loss" STEPS_LOSS=200 LOSS_BATCH=8 bash bench/gpu/run.sh   (there)
#   PHASES (default: all) picks what runs (demo: the one-GPU demo, then EP = 2 over NCCL in one silo, ~60 s); STEPS_LOSS, LOSS_BATCH, LOSS_TIMEOUT shape the FP8-vs-BF16 loss runs.
set -uo pipefail
OUT=${OUT:-/tmp/out}
RES=/tmp/res # everything lands here; packed into $OUT at the end (the tool returns at most 8 files)
PHASES=${PHASES:-"fp8 nccl train loss demo"}
STEPS_LOSS=${STEPS_LOSS:-300}
mkdir -p "$OUT" "$RES" /tmp/orchestrator /tmp/cudalib
# NVLink multicast stays off (the device README says why).
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
SITE=/opt/torch/.venv/lib/python3.12/site-packages
TORCH_LIB=$SITE/torch/lib
export LD_LIBRARY_PATH="$TORCH_LIB:$(ls -d $SITE/nvidia/*/lib | paste -sd:):${LD_LIBRARY_PATH:-}"
export ORCHESTRATOR_LIBTORCH=$TORCH_LIB ORCHESTRATOR_NCCL=$SITE/nvidia/nccl/lib
export ORCHESTRATOR_CUDA_KERNELS=/tmp/cudalib/liborchestrator_cuda.so
LOG=$RES/gpu-run.log
pack() { cp "$LOG" "$OUT/" 2>/dev/null; cp "$RES/summary.txt" "$OUT/" 2>/dev/null; tar -czf "$OUT/results.tgz" -C "$RES" . ; }
trap pack EXIT
# The tool stops a call at its limit without running traps: pack what there is shortly before.
( exec > /dev/null 2>&1; sleep "${PACK_AFTER:-560}"; pack ) &
watchdog=$!
say() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$LOG"; }
has() { [[ " $PHASES " == *" $1 "* ]]; }

say "machine"
{ nvidia-smi --query-gpu=index,name,memory.total,driver_version,clocks.sm --format=csv,noheader; nproc; uname -r; } 2>&1 | tee -a "$LOG"
tar -C /tmp/orchestrator -xJf .device/gpu/publish.tar.xz
O=/tmp/orchestrator/orchestrator
G=/tmp/orchestrator/orchestrator-gpu-bench

say "nvcc: Kernels/cuda -> liborchestrator_cuda.so"
if ! Kernels/cuda/build.sh /tmp/cudalib /usr/local/cuda-13.0 > "$RES/nvcc.log" 2>&1; then
  tail -40 "$RES/nvcc.log" | tee -a "$LOG"; echo "nvcc failed" | tee -a "$LOG"
fi
grep -E "registers|spill" "$RES/nvcc.log" | head -20 >> "$LOG"

if has demo || has nccl || has loss; then
  say "demo: the one-node cluster trains the demo job through the grains, its rank on cuda:0"
  timeout -k 5 30 $O demo --libtorch "$TORCH_LIB" --devices cuda:0 --seconds 10 --no-dashboard --work-dir /tmp/demo \
    --summary-json "$RES/demo-summary.json" 2>&1 | tail -8 | tee -a "$LOG"
fi

if has demo; then
  # Two GPU ranks in one silo (EP = 2, one rank per GPU), NCCL as their data plane, the unique id
  # published by rank 0 through the job's NcclRendezvousGrain; the summary names each rank's data plane.
  say "demo EP=2: ranks on cuda:0 and cuda:1 of one silo, data plane nccl (id via grains)"
  timeout -k 5 45 $O demo --libtorch "$TORCH_LIB" --devices cuda:0-1 --ep 2 --data-plane nccl --seconds 15 --no-dashboard --work-dir /tmp/demo \
    --summary-json "$RES/demo-ep2-summary.json" > "$RES/demo-ep2.log" 2>&1
  echo "demo EP=2 exit $?" >> "$RES/demo-ep2.log"
  grep -E "planned|data plane|Done:|ended|ERR|FTL|Exception|exit" "$RES/demo-ep2.log" | tail -14 | tee -a "$LOG"
  python3 - "$RES/demo-ep2-summary.json" <<'PY' 2>&1 | tee -a "$LOG"
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(f"demo EP=2: no summary ({e})")
planes = ", ".join(f"rank {r['rank']} {r['device']}: {r['data_plane']}" for r in s.get("ranks", []))
print(f"demo EP=2: {s['steps']} steps, loss {s['loss_first']:.4f} -> {s['loss_last']:.4f}, {s['tokens_per_second']:.0f} tokens/s (rank 0); {planes}")
PY
fi

if has nccl; then
  say "nccl: two ranks, one per GPU (ids by file), then torch.distributed on the same GPUs"
  rm -f /tmp/nccl-id
  CUDA_VISIBLE_DEVICES=0 timeout 200 $G nccl --rank 0 --world 2 --id-file /tmp/nccl-id --out "$RES/nccl-rank0.json" \
    --ep-config deploy/configs/tiny.json --data /tmp/demo/data --ep-steps 20 > /tmp/nccl0.log 2>&1 &
  p0=$!
  CUDA_VISIBLE_DEVICES=1 timeout 200 $G nccl --rank 1 --world 2 --id-file /tmp/nccl-id --out /tmp/nccl-rank1.json \
    --ep-config deploy/configs/tiny.json --data /tmp/demo/data --ep-steps 20 > /tmp/nccl1.log 2>&1 &
  p1=$!
  wait $p0; echo "rank 0 exit $?" >> /tmp/nccl0.log
  wait $p1; echo "rank 1 exit $?" >> /tmp/nccl1.log
  cat /tmp/nccl0.log /tmp/nccl1.log | tee -a "$LOG"
  (cd bench/gpu/reference && timeout 90 python3 all_to_all.py "$RES/torch-all-to-all.json") 2>&1 | grep -v Warning | tee -a "$LOG"
fi

if has fp8; then
  say "fp8: quantisation bit-equality, scale layouts, GEMM error, projection vs emulation, P1, P3"
  CUDA_VISIBLE_DEVICES=0 timeout 200 $G fp8 --out "$RES/fp8.json" --settings-file /tmp/fp8-settings 2>&1 | tee -a "$LOG"
fi
[[ -s /tmp/fp8-settings ]] && export ORCHESTRATOR_FP8_GPU=$(cat /tmp/fp8-settings)
echo "FP8 settings: ${ORCHESTRATOR_FP8_GPU:-defaults}" | tee -a "$LOG"

loss_pids=""
if has loss; then
  say "FP8 vs BF16 loss (in the background on GPU 1): moe-1b, $STEPS_LOSS steps on the demo corpus"
  for dtype in bfloat16 fp8; do
    CUDA_VISIBLE_DEVICES=1 timeout "${LOSS_TIMEOUT:-400}" $G train --config deploy/configs/moe-1b.json --dtype $dtype --data /tmp/demo/data \
      --batch "${LOSS_BATCH:-8}" --warmup 0 --steps "$STEPS_LOSS" --out "$RES/loss-$dtype.json" > "/tmp/loss-$dtype.log" 2>&1 &
    loss_pids="$loss_pids $!"
  done
fi

if has train; then
  say "P2: moe-1b training step on GPU 0, ours (bf16, fp8) vs PyTorch eager (bf16), random tokens"
  for dtype in bfloat16 fp8; do
    CUDA_VISIBLE_DEVICES=0 timeout 120 $G train --config deploy/configs/moe-1b.json --dtype $dtype --warmup 3 --steps 10 --out "$RES/p2-ours-$dtype.json" 2>&1 | tee -a "$LOG"
  done
  (cd bench/gpu/reference && CUDA_VISIBLE_DEVICES=0 timeout 120 python3 train_step.py ../../../deploy/configs/moe-1b.json --warmup 3 --steps 10 --out "$RES/p2-torch.json") 2>&1 | tee -a "$LOG"
fi

if [[ -n "$loss_pids" ]]; then
  say "waiting for the loss runs"
  for p in $loss_pids; do wait $p; done
  for dtype in bfloat16 fp8; do tail -14 "/tmp/loss-$dtype.log" | tee -a "$LOG"; done
fi

say "summary"
python3 bench/gpu/summary.py "$RES" 2>&1 | tee "$RES/summary.txt" | tee -a "$LOG"
kill $watchdog 2>/dev/null
