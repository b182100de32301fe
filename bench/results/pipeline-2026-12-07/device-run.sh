set -u
SITE=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH="$SITE/torch/lib:${LD_LIBRARY_PATH:-}" ORCHESTRATOR_LIBTORCH=$SITE/torch/lib
mkdir -p /tmp/o && tar -C /tmp/o -xJf .device/pp/publish.tar.xz
nproc; lscpu | grep "Model name"
G=/tmp/o/orchestrator-gpu-bench
timeout -k 5 180 $G pipeline --out $OUT/pp4.json --stages 4 --micro-batches 16 --layers 8 --rows 4 --steps 4 2>&1 | tail -6
timeout -k 5 190 $G pipeline --out $OUT/pp8.json --stages 8 --micro-batches 32 --layers 16 --rows 2 --steps 3 2>&1 | tail -6
