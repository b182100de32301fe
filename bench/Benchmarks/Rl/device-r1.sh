#!/usr/bin/env bash
# The r1-recipe sweep on the GPU machine's 16 CPU cores (CPU only, libtorch 1 thread per run), one call:
# ten r1-recipe runs side by side (pretrain → SFT → eval → GRPO until the deadline → eval → checkpoint), then for
# each finished run the generation bench on its checkpoint and the distillation from it, side by side.
# Needs a self-contained publish of bench/Benchmarks (-p:BundledLibTorch=false) as $PUB (tar.xz). Results: $OUT/r1.tgz.
set -u
OUT=${OUT:-/tmp/out}; R=/tmp/r1res; CK=/tmp/r1ck; mkdir -p "$R" "$CK" /tmp/r1pub
SITE=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH="$SITE/torch/lib:${LD_LIBRARY_PATH:-}" ORCHESTRATOR_LIBTORCH=$SITE/torch/lib OMP_NUM_THREADS=1
tar -C /tmp/r1pub -xJf "${PUB:?publish tar.xz}"
B=/tmp/r1pub/Orchestrator.Benchmarks
T0=$(date +%s); END=${END:-560}
pack() { tar -czf "$OUT/r1.tgz.tmp" -C "$R" . && mv "$OUT/r1.tgz.tmp" "$OUT/r1.tgz"; }
(while true; do sleep 15; pack; done) & PACKER=$!
{ nproc; lscpu | grep 'Model name'; date -u; } > "$R/machine.txt"
pids=()
job() { # name, r1-recipe args
  local name=$1; shift
  timeout -k 5 $((END - ${POST:-70})) "$B" r1-recipe --checkpoint "$CK/$name" --out "$R/$name.json" --deadline-seconds "${DEADLINE:-300}" "$@" > "$R/$name.log" 2>&1
  echo "exit $? at $(( $(date +%s) - T0 )) s" >> "$R/$name.log"
  [ -f "$R/$name.json" ] || return
  local left=$(( END - ($(date +%s) - T0) ))
  timeout -k 5 $((left > 100 ? 100 : left)) "$B" generation --checkpoint "$CK/$name" --rounds 2 --max-tokens 48 --pass-rounds 10 --out "$R/$name-gen.json" > "$R/$name-gen.log" 2>&1 &
  timeout -k 5 "$left" "$B" r1-recipe --teacher "$CK/$name" --distill-steps "${DSTEPS:-120}" --distill-prompts "${DPROMPTS:-600}" --out "$R/$name-distill.json" > "$R/$name-distill.log" 2>&1
  echo "exit $? at $(( $(date +%s) - T0 )) s" >> "$R/$name-distill.log"; wait
}
# The runs: one per line, "name r1-recipe-args…"; $JOBS names a file of such lines, else the sweep below.
if [ -n "${JOBS:-}" ]; then mapfile -t runs < "$JOBS"; else runs=(
  "a --pretrain-steps 100 --sft-steps 100 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8"
  "b --pretrain-steps 100 --sft-steps 150 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8"
  "c --pretrain-steps 150 --sft-steps 100 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8"
  "d --pretrain-steps 150 --sft-steps 150 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8"
  "e --pretrain-steps 100 --sft-steps 100 --grpo-steps 60 --lr 5e-4 --prompts 4 --group 8"
  "f --pretrain-steps 100 --sft-steps 150 --grpo-steps 60 --lr 5e-4 --prompts 4 --group 8"
  "g --pretrain-steps 100 --sft-steps 150 --grpo-steps 60 --lr 1e-4 --prompts 4 --group 8"
  "h --pretrain-steps 100 --sft-steps 150 --grpo-steps 60 --lr 2e-4 --prompts 2 --group 16"
  "i --pretrain-steps 100 --sft-steps 150 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8 --kl 0.01"
  "j --pretrain-steps 200 --sft-steps 200 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8"
  "k --pretrain-steps 50 --sft-steps 200 --grpo-steps 60 --lr 2e-4 --prompts 4 --group 8"
  "l --pretrain-steps 100 --sft-steps 150 --grpo-steps 60 --lr 2e-4 --prompts 8 --group 8"
); fi
for run in "${runs[@]}"; do
  [ -n "$run" ] || continue
  # shellcheck disable=SC2086 # the line is the run's name and its arguments, split on spaces
  job $run & pids+=($!)
done
wait "${pids[@]}"
kill "$PACKER"; pack; ls -la "$R" | head -60; grep -h "accuracy" "$R"/*.log | head -80
