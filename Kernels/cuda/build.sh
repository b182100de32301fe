#!/usr/bin/env bash
# Builds liborchestrator_cuda.so with nvcc for Hopper (sm_90a). Runs on a GPU node (the CPU build
# never needs it). Usage: Kernels/cuda/build.sh OUTPUT_DIR [CUDA_HOME]
# cuBLASLt comes from the CUDA toolkit's headers and is linked by soname (libcublasLt.so.13), so the
# library resolves against whichever copy the process already has (PyTorch's nvidia/cu13/lib).
set -euo pipefail
out=${1:?output folder}
cuda=${2:-${CUDA_HOME:-/usr/local/cuda}}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
"$cuda/bin/nvcc" -O3 -std=c++17 -shared -Xcompiler -fPIC -Xcompiler -fvisibility=hidden \
  -gencode arch=compute_90a,code=sm_90a -cudart shared -Xptxas -v \
  -o "$out/liborchestrator_cuda.so" "$here/runtime.cu" "$here/fp8_quant.cu" "$here/fp8_gemm.cu" -lcublasLt
echo "built $out/liborchestrator_cuda.so"
