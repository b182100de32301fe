#!/usr/bin/env bash
# Issue-4 benchmark: the tiny config (64 routed experts) trained with EP = 64 over 4 silo processes
# (16 CPU ranks each) on a real PostgreSQL, against the same global batch trained in one process,
# in the same run. Reports the tokens/s ratio, the control-plane time per step (rank 0's round trip to
# the job's LoadBalancerGrain, the only grain call on the step's path), and the peak memory of the four
# silos together against the single process (plus each silo's idle footprint, the fixed overhead).
#   bench/cluster/ep-vs-single.sh [steps=20] [out=bench/results/ep64-vs-single-DATE.json]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-20}
out=${2:-bench/results/ep64-vs-single-$(date -u +%F).json}
export ORCHESTRATOR_LOCAL_CLUSTER=${ORCHESTRATOR_LOCAL_CLUSTER:-/tmp/orchestrator-bench-cluster}
work=$(mktemp -d /tmp/orchestrator-bench-XXXX)
trap 'deploy/local-cluster.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

deploy/local-cluster.sh 4 --devices cpu:16 | tee "$work/cluster.txt"
cs=$(grep -o "ORCHESTRATOR__POSTGRES='[^']*'" "$work/cluster.txt" | cut -d"'" -f2)
export ORCHESTRATOR__POSTGRES="$cs"
exe="dotnet Silo/bin/Release/net10.0/orchestrator.dll"
state=$ORCHESTRATOR_LOCAL_CLUSTER
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
pids=$(cat "$state"/silo-n*.pid)
idle=0; for p in $pids; do idle=$((idle + $(rss "$p"))); done

$exe demo --steps 1 --seconds 5 --work-dir "$work/demo" >/dev/null 2>&1
data="$work/demo/data"
python3 - "$work" "$data" "$steps" <<'PY'
import json, sys
work, data, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = {"id": "bench-ep64", "config": "tiny", "training": {"threads": 1, "micro_batch_size": 1},
        "data": data, "steps": steps, "parallel": {"ep": 64, "dp": 1}, "fp8": False,
        "checkpoint": {"every": 0, "keep": 1}}
json.dump(spec, open(f"{work}/ep64.json", "w"))
config = json.load(open("deploy/configs/tiny.json"))
config["training"]["micro_batch_size"] = 64
config["training"]["threads"] = 1
json.dump(config, open(f"{work}/single.json", "w"))
PY

start=$(date +%s.%N)
$exe submit "$work/ep64.json" >/dev/null
while :; do
  phase=$($exe job bench-ep64 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["phase"])')
  case "$phase" in Completed) break ;; Failed|Cancelled) echo "job $phase" >&2; $exe job bench-ep64 >&2; exit 1 ;; esac
  sleep 1
done
wall=$(python3 -c "import time; print(time.time() - $start)")
peak=0; for p in $pids; do peak=$((peak + $(hwm "$p"))); done
psql "postgresql://postgres@127.0.0.1:$(echo "$cs" | sed 's/.*Port=\([0-9]*\).*/\1/')/postgres" -At -F, -c \
  "select step, name, value from metrics where job_id = 'bench-ep64' and name in ('step_ms','control_ms','loss') order by step, name" > "$work/metrics.csv"

python3 - "$work" "$data" "$steps" <<'PY' > "$work/single.txt"
import json, resource, subprocess, sys, time
work, data, steps = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.time()
subprocess.run(["dotnet", "Silo/bin/Release/net10.0/orchestrator.dll", "train", "-c", f"{work}/single.json", "-d", data,
                "-n", steps, "--summary-json", f"{work}/single-summary.json"],
               check=True, stdout=subprocess.DEVNULL)
print(json.dumps({"wall_s": time.time() - t, "peak_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
PY

python3 - "$work" "$out" "$idle" "$peak" "$wall" "$steps" <<'PY'
import csv, json, statistics, sys, datetime, platform, os
work, out, idle, peak, wall, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
rows = list(csv.reader(open(f"{work}/metrics.csv")))
by = {}
for step, name, value in rows: by.setdefault(name, {})[int(step)] = float(value)
steps_ms = [by["step_ms"][s] for s in sorted(by["step_ms"]) if s > 1]   # step 1 warms up (grain activations, allocations)
control = [by["control_ms"][s] for s in sorted(by["control_ms"]) if s > 1]
single = json.load(open(f"{work}/single-summary.json")); single_run = json.load(open(f"{work}/single.txt"))
tokens_per_step = 64 * 128
ep_tps = tokens_per_step / (statistics.mean(steps_ms) / 1000)
result = {
  "benchmark": "EP64 over 4 silo processes (16 CPU ranks each) vs one process, tiny config (64 routed experts), same global batch (64 × 128 tokens)",
  "command": "bench/cluster/ep-vs-single.sh " + str(steps), "date": datetime.date.today().isoformat(),
  "machine": f"{platform.node()}, {os.cpu_count()} cores, libtorch 1 thread per rank",
  "steps": steps,
  "ep64_tokens_per_s": round(ep_tps, 1), "single_tokens_per_s": round(single["tokens_per_second"], 1),
  "ratio": round(ep_tps / single["tokens_per_second"], 3),
  "ep64_step_ms_mean": round(statistics.mean(steps_ms), 1),
  "control_ms_mean": round(statistics.mean(control), 3), "control_ms_max": round(max(control), 3),
  "control_share_of_step": round(statistics.mean(control) / statistics.mean(steps_ms), 5),
  "ep64_job_wall_s": round(wall, 1), "single_wall_s": round(single_run["wall_s"], 1),
  "silos_idle_rss_mib_total": round(idle / 1024, 1), "silos_peak_rss_mib_total": round(peak / 1024, 1),
  "single_peak_rss_mib": round(single_run["peak_rss_kib"] / 1024, 1),
  "memory_ratio_raw": round(peak / single_run["peak_rss_kib"], 2),
  "memory_ratio_net_of_idle_silos": round((peak - idle) / single_run["peak_rss_kib"], 2),
  "loss_last_ep64": by["loss"][max(by["loss"])], "loss_last_single": single["loss_last"],
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
