#!/usr/bin/env bash
# The GPU run (tool `device`, nvidia-h200-x2): builds the CUDA kernels with nvcc, then checks and times
# everything in one call. Run from the repository root; needs the self-contained publish of the
# orchestrator and the GPU bench (both in one folder, without the bundled libtorch) as
# .device/gpu/publish.tar.xz, and the loss runs' corpus as .device/gpu/corpus — bench/gpu/pack.sh makes
# both. Results land in $OUT (results.tgz, the log and the summary). The device tool sends the session's
# checkout, not a helper's worktree, so pack into an ignored folder of that checkout and carry it:
#   bench/gpu/pack.sh /work/main/.device/gpu        (here; carry ".device/gpu")
#   cd .device/gpu/repo && bash bench/gpu/run.sh    (there)
# PHASES (default "demo fp8 train loss"; "nccl" adds P4 and the file-id EP run) picks what runs.
# The phases are laid out for a short call (~4 min) over the two GPUs:
#   nvcc | unpack  ->  demo EP=2 over NCCL (both GPUs)  ->  GPU 0: fp8 checks + P3, ours bf16, ours FP8
#                                                          GPU 1: PyTorch loop, PyTorch grouped, the loss runs
# so P2's "ours" and "PyTorch" figures come from two identical GPUs at the same time. Every step has its
# own timeout; results are packed into $OUT every 15 s, so a call cut short still returns what it has.
# Knobs: TRAIN_TIMEOUT (each P2 run, 60), LOSS_SECONDS (each loss run's training budget, 35), LOSS_BATCH (4).
set -uo pipefail
OUT=${OUT:-/tmp/out}
RES=/tmp/res # everything lands here; packed into $OUT (the tool returns at most 8 files)
PHASES=${PHASES:-"demo fp8 train loss"}
TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-60}
mkdir -p "$OUT" "$RES" /tmp/orchestrator /tmp/cudalib
# NVLink multicast stays off (the device README says why).
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
SITE=/opt/torch/.venv/lib/python3.12/site-packages
TORCH_LIB=$SITE/torch/lib
export LD_LIBRARY_PATH="$TORCH_LIB:$(ls -d $SITE/nvidia/*/lib | paste -sd:):${LD_LIBRARY_PATH:-}"
export ORCHESTRATOR_LIBTORCH=$TORCH_LIB ORCHESTRATOR_NCCL=$SITE/nvidia/nccl/lib
export ORCHESTRATOR_CUDA_KERNELS=/tmp/cudalib/liborchestrator_cuda.so
LOG=$RES/gpu-run.log
pack() {
  cp "$LOG" "$OUT/" 2>/dev/null; cp "$RES/summary.txt" "$OUT/" 2>/dev/null
  tar -czf "$OUT/results.tgz.tmp" -C "$RES" . 2>/dev/null && mv "$OUT/results.tgz.tmp" "$OUT/results.tgz"
}
trap pack EXIT
# The tool stops a call at its limit without running traps: pack what there is every 15 s.
( exec > /dev/null 2>&1; while sleep 15; do pack; done ) &
packer=$!
say() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$LOG"; }
has() { [[ " $PHASES " == *" $1 "* ]]; }

say "machine"
{ nvidia-smi --query-gpu=index,name,memory.total,driver_version,clocks.sm --format=csv,noheader; nproc; uname -r; } 2>&1 | tee -a "$LOG"
O=/tmp/orchestrator/orchestrator
G=/tmp/orchestrator/orchestrator-gpu-bench

say "nvcc: Kernels/cuda -> liborchestrator_cuda.so (and unpacking the publish beside it)"
tar -C /tmp/orchestrator -xJf .device/gpu/publish.tar.xz &
unpacking=$!
if ! Kernels/cuda/build.sh /tmp/cudalib /usr/local/cuda-13.0 > "$RES/nvcc.log" 2>&1; then
  tail -40 "$RES/nvcc.log" | tee -a "$LOG"; echo "nvcc failed" | tee -a "$LOG"
fi
grep -E "registers|spill" "$RES/nvcc.log" | head -24 >> "$LOG"
wait $unpacking

if has demo; then
  # Two GPU ranks in one silo (EP = 2, one rank per GPU), NCCL as their data plane, the unique id
  # published by rank 0 through the job's NcclRendezvousGrain; the summary names each rank's data plane.
  say "demo EP=2: the one-node cluster, ranks on cuda:0 and cuda:1 of one silo, data plane nccl (id via grains)"
  timeout -k 5 45 $O demo --log-format text --libtorch "$TORCH_LIB" --devices cuda:0-1 --ep 2 --data-plane nccl --seconds 15 --no-dashboard --work-dir /tmp/demo \
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

# GPU 0: the FP8 checks (their settings gate the FP8 training runs), P3, then ours for P2.
gpu0() {
  if has fp8; then
    say "fp8 (GPU 0): encoder check, quantisation bit-equality, scale layouts, GEMM error, projections, grouped FP8 experts, P3"
    CUDA_VISIBLE_DEVICES=0 timeout -k 5 75 $G fp8 --figures p3 --out "$RES/fp8.json" --settings-file /tmp/fp8-settings > "$RES/fp8.log" 2>&1
    echo "fp8 exit $?" >> "$RES/fp8.log"
    grep -E "FAIL|P3|grouped|encoder|checks|exit" "$RES/fp8.log" | tail -30 | tee -a "$LOG"
  fi
  fp8_settings
  if has train; then
    say "P2 ours (GPU 0): moe-1b, routed experts grouped, bf16 then FP8"
    for dtype in bfloat16 fp8; do
      CUDA_VISIBLE_DEVICES=0 timeout -k 5 "$TRAIN_TIMEOUT" $G train --config deploy/configs/moe-1b.json --dtype $dtype --grouped on \
        --warmup 2 --steps 5 --out "$RES/p2-ours-$dtype.json" > "$RES/p2-ours-$dtype.log" 2>&1
      echo "exit $?" >> "$RES/p2-ours-$dtype.log"; tail -4 "$RES/p2-ours-$dtype.log" | tee -a "$LOG"
    done
  fi
}

# The FP8 settings the checks wrote (scale layouts; grouped=0 where the grouped FP8 check failed), and the
# quantisation encoder: the reciprocal one unless the device check found it disagreeing with the division.
fp8_settings() {
  [[ -s /tmp/fp8-settings ]] && export ORCHESTRATOR_FP8_GPU=$(cat /tmp/fp8-settings)
  if [[ -s "$RES/fp8.json" ]] && ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("encoder_check",{}).get("pass") else 1)' "$RES/fp8.json"; then
    export ORCHESTRATOR_FP8_QUANT=exact
  fi
}

# GPU 1: PyTorch eager for P2 (the per-expert loop, and the same grouped algorithm), then the loss runs.
gpu1() {
  if has train; then
    say "P2 PyTorch eager bf16 (GPU 1): per-expert loop, then grouped (padded bmm)"
    for grouped in off on; do
      name=p2-torch; [[ $grouped == on ]] && name=p2-torch-grouped
      (cd bench/gpu/reference && CUDA_VISIBLE_DEVICES=1 timeout -k 5 "$TRAIN_TIMEOUT" python3 train_step.py ../../../deploy/configs/moe-1b.json \
        --grouped $grouped --warmup 2 --steps 5 --out "$RES/$name.json") > "$RES/$name.log" 2>&1
      echo "exit $?" >> "$RES/$name.log"; grep -v Warning "$RES/$name.log" | tail -3 | tee -a "$LOG"
    done
  fi
  if has loss; then
    # The corpus: the .NET documentation prose pack.sh tokenised (3.3 M tokens: no batch repeats), else the demo's.
    local corpus=.device/gpu/corpus; [[ -s $corpus/index.json ]] || corpus=/tmp/demo/data
    # The FP8 run needs the checks' settings: wait for the fp8 step of GPU 0 (at most 90 s).
    for _ in $(seq 90); do
      { ! has fp8 || grep -q "fp8 exit" "$RES/fp8.log" 2>/dev/null; } && break
      sleep 1
    done
    fp8_settings
    say "FP8 vs BF16 loss (GPU 1, three at once): moe-1b on $corpus, ${LOSS_SECONDS:-35} s of steps each; a second bf16 seed as the control"
    local pids=""
    for run in "bfloat16 1234" "fp8 1234" "bfloat16 4321"; do
      set -- $run
      CUDA_VISIBLE_DEVICES=1 timeout -k 5 $(( ${LOSS_SECONDS:-35} + 45 )) $G train --config deploy/configs/moe-1b.json --dtype $1 --seed $2 --data $corpus \
        --batch "${LOSS_BATCH:-4}" --warmup 0 --steps 5000 --max-seconds "${LOSS_SECONDS:-35}" --out "$RES/loss-$1-seed$2.json" > "$RES/loss-$1-$2.log" 2>&1 &
      pids="$pids $!"
    done
    for p in $pids; do wait $p; done
    for f in "$RES"/loss-*.log; do echo "-- $f"; tail -3 "$f"; done | tee -a "$LOG"
  fi
}

gpu0 &
gpu0_pid=$!
gpu1 &
gpu1_pid=$!
wait $gpu0_pid $gpu1_pid

say "summary"
python3 bench/gpu/summary.py "$RES" 2>&1 | tee "$RES/summary.txt" | tee -a "$LOG"
kill $packer 2>/dev/null
