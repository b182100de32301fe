#!/usr/bin/env bash
# Builds liborchestrator_aten.so, the native bridge to ATen (Kernels/Native/AtenBridge.cs), against the libtorch
# of the Python PyTorch on a GPU node: its headers (site-packages/torch/include), its libraries (torch/lib) and its
# C++ ABI flag (torch._C._GLIBCXX_USE_CXX11_ABI). The CPU build never needs it.
# Usage: Kernels/native/build.sh OUTPUT_DIR [PYTHON]   (PYTHON: the interpreter whose torch to build against)
set -euo pipefail
out=${1:?output folder}
python=${2:-python3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
if ! read -r torch_dir abi version < <("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.__version__)'); then
  echo "native bridge: '$python' cannot import torch; nothing built" >&2
  exit 2
fi
for need in "$torch_dir/include/ATen/ATen.h" "$torch_dir/lib/libtorch_cpu.so" "$torch_dir/lib/libc10.so"; do
  [[ -e $need ]] || { echo "native bridge: $need is missing (a PyTorch without its C++ headers/libraries?)" >&2; exit 2; }
done
echo "native bridge: torch $version at $torch_dir, _GLIBCXX_USE_CXX11_ABI=$abi"
${CXX:-g++} -O2 -std=c++17 -shared -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI="$abi" \
  -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include" \
  -o "$out/liborchestrator_aten.so" "$here/orchestrator_aten.cpp" \
  -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch_cpu -lc10 -Wl,--as-needed
echo "built $out/liborchestrator_aten.so"
