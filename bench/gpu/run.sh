#!/usr/bin/env bash
# Runs on the GPU device machine (tool `device`), from the repository root, with the self-contained
# publish carried in .device/orchestrator.tar.xz:
#   dotnet publish Silo/Silo.csproj -c Release -r linux-x64 --self-contained -p:BundledLibTorch=false -o /tmp/gpu-publish
#   tar -C /tmp/gpu-publish -cf - . | xz -T2 -6 > .device/orchestrator.tar.xz
# It checks that the orchestrator runs on the node's own PyTorch/CUDA libtorch, then trains the demo job.
set -euo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/orchestrator
tar -C /tmp/orchestrator -xJf .device/orchestrator.tar.xz
TORCH_LIB=/opt/torch/.venv/lib/python3.12/site-packages/torch/lib
NVIDIA=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH="$TORCH_LIB:$(ls -d $NVIDIA/*/lib | paste -sd:):${LD_LIBRARY_PATH:-}"
export NCCL_NVLS_ENABLE=0
O=/tmp/orchestrator/orchestrator
{
  echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc; date -u
  echo "== model-info (no libtorch needed)"; $O model-info -c deploy/configs/deepseek-v3-671b.json --json
  echo "== demo on the node's CUDA libtorch (ranks still compute on CPU: the device is not passed down yet)"
  $O demo --libtorch "$TORCH_LIB" --seconds 30 --work-dir /tmp/demo --summary-json "$OUT/demo-summary.json"
} 2>&1 | tee "$OUT/gpu-run.log"
{
  echo "== the trainer on the GPU vs the CPU, tiny config, same seed and data"
  $O train --libtorch "$TORCH_LIB" -c deploy/configs/tiny.json -d /tmp/demo/data --steps 40 --device cuda --summary-json "$OUT/train-cuda.json"
  $O train --libtorch "$TORCH_LIB" -c deploy/configs/tiny.json -d /tmp/demo/data --steps 40 --device cpu --summary-json "$OUT/train-cpu.json"
  python3 - "$OUT" <<'PY'
import json, sys
a = json.load(open(sys.argv[1] + "/train-cuda.json")); b = json.load(open(sys.argv[1] + "/train-cpu.json"))
print("tokens/s cuda %.0f cpu %.0f ratio %.2f" % (a["tokens_per_second"], b["tokens_per_second"], a["tokens_per_second"] / b["tokens_per_second"]))
print("loss last cuda %.6f cpu %.6f rel %.2e" % (a["loss_last"], b["loss_last"], abs(a["loss_last"] - b["loss_last"]) / b["loss_last"]))
PY
} 2>&1 | tee -a "$OUT/gpu-run.log"
