#!/usr/bin/env python3
"""Issue-20 benchmark: the control plane at 64 … 2,048 ranks, with simulated devices (sim:8 per node).

For each rank count R: R/D nodes of D simulated devices (sim:D, D = 8 as DeepSeek's nodes by default) plus
64/D spare nodes (for the re-plan), each an Orleans silo, K per process (deploy/local-cluster.sh
--nodes-per-silo K), with the real PostgreSQL membership and index, one job of R ranks
(EP = min(64, R) × DP) of the DeepSeek-V3 config whose steps are a timed wait of STEP_MS. Measured:
  - control-plane time per step: rank 0's bias round trip (control_ms) and the step's time beyond STEP_MS
  - PostgreSQL rows and bytes written per step (metrics, expert loads, events) and per checkpoint
  - the two-phase commit time of a checkpoint of all R shards (its committed event)
  - the dashboard's job-page API latency during the run (each call the page makes)
  - the re-plan after SIGKILL of the process that hosts rank 64 (rank 63 in a job of 64): its K nodes'
    ranks are lost; detection, re-plan, rank start, first step of the new epoch
Usage: bench/cluster/scale.py [ranks=64,256] [step_ms=2000] [out=bench/results/scale-DATE.json] [D=8] [K=8] [PP=1]
PP > 1 runs V3's pipeline layout instead: EP = min(64, R / PP) × PP × DP, 1F1B over 2 × PP micro-batches (simulated
stages record the schedule's timeline to their stage grains once a step, as real stages do).
D = 64, K = 1 keeps the silo count small (R/64 + 1) while the rank count grows: the rank-count paths
(reports, bias round trip, 2PC, rank start) apart from membership size, which a 2-core host cannot carry
past ~100 silos (BENCHMARKS.md).
"""
import datetime, json, os, platform, statistics, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import EXE, TIME, sh, sql, stop, submit, utc
# Tens of silos on a few cores: keep the safe detection defaults, not local-cluster.sh's loopback profile (0.5 s probes
# would evict starved silos); figures before 2026-12-07 20:30 UTC ran with these values.
for key, value in (("PROBETIMEOUT", "00:00:01"), ("NUMMISSEDPROBESLIMIT", "3"), ("TABLEREFRESHTIMEOUT", "00:00:02")):
    os.environ.setdefault(f"ORCHESTRATOR__FAILUREDETECTION__{key}", value)

counts = [int(r) for r in (sys.argv[1] if len(sys.argv) > 1 else "64,256").split(",")]
step_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 2000
out = sys.argv[3] if len(sys.argv) > 3 else f"bench/results/scale-{datetime.date.today()}.json"
DEVICES = int(sys.argv[4]) if len(sys.argv) > 4 else 8
PER_SILO = int(sys.argv[5]) if len(sys.argv) > 5 else 8
PP = int(sys.argv[6]) if len(sys.argv) > 6 else 1
state = "/tmp/orchestrator-bench-scale"
DASHBOARD = 5391
TABLES_STEP = ["metrics", "expert_loads", "job_events"]
TABLES_CKPT = ["checkpoints", "checkpoint_shards"]


def table_stats(cs):
    rows = sql(cs, "select relname, n_tup_ins, pg_total_relation_size(relid) from pg_stat_user_tables")
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def steps_done(cs, job):
    return int(sql(cs, f"select coalesce(max(step), 0) from metrics where job_id = '{job}' and name = 'loss'")[0][0])


def wait_step(cs, job, step, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if steps_done(cs, job) >= step:
            return
        time.sleep(0.5)
    raise TimeoutError(f"job {job} did not reach step {step} in {seconds} s")


def api_latency(job, token, step, rounds=5):
    """What the job page costs: its calls (status, checkpoints), the live stream until its first expert-load
    item (the page fully drawn), and the heatmap's one-step read; plus the whole expert-load history."""
    def get(path, until=None):
        request = urllib.request.Request(f"http://127.0.0.1:{DASHBOARD}{path}", headers={"Authorization": f"Bearer {token}"})
        began, size = time.perf_counter(), 0
        with urllib.request.urlopen(request, timeout=120) as response:
            if until is None:
                size = len(response.read())
            else:
                for line in response:
                    size += len(line)
                    if line.startswith(until):
                        break
        return (time.perf_counter() - began) * 1000, size
    calls = {"/api/jobs/{id}": (f"/api/jobs/{job}", None), "/api/jobs/{id}/checkpoints": (f"/api/jobs/{job}/checkpoints", None),
             "/api/jobs/{id}/stream → first experts item": (f"/api/jobs/{job}/stream", b"event: experts"),
             "/api/jobs/{id}/expert-load?from=S&to=S": (f"/api/jobs/{job}/expert-load?from={step}&to={step}", None),
             "/api/jobs/{id}/events (all)": (f"/api/jobs/{job}/events", None),
             "/api/jobs/{id}/expert-load (whole history)": (f"/api/jobs/{job}/expert-load", None)}
    result = {}
    for name, (path, until) in calls.items():
        samples = [get(path, until) for _ in range(rounds if "history" not in name else 2)]
        times = [t for t, _ in samples]
        result[name] = {"ms_median": round(statistics.median(times), 1), "ms_max": round(max(times), 1), "bytes": samples[-1][1]}
    return result


def stats(values):
    values = sorted(values)
    return {"mean": round(statistics.mean(values), 2), "p95": round(values[int(0.95 * (len(values) - 1))], 2), "max": round(values[-1], 2)}


def run(ranks, token):
    nodes = ranks // DEVICES + max(64 // DEVICES, 1)
    job = f"scale-{ranks}"
    began = time.time()
    sh("deploy/local-cluster.sh", str(nodes), "--devices", f"sim:{DEVICES}", "--nodes-per-silo", str(PER_SILO))
    joined_s = time.time() - began
    cs = open(f"{state}/cluster.env").read().split("'")[1]
    os.environ["ORCHESTRATOR__POSTGRES"] = cs
    ep = min(64, ranks // PP)
    parallel = {"ep": ep, "dp": ranks // (ep * PP)}
    extra = {}
    if PP > 1:
        parallel.update({"pp": PP, "schedule": "1f1b"})
        extra["training"] = {"gradient_accumulation": 2 * PP}
    work = tempfile.mkdtemp(prefix="orchestrator-scale-")
    submit_error = None
    try:
        submit(work, {"id": job, "config": "deepseek-v3-671b", "data": f"{work}/unused", "steps": 100000,
                      "parallel": parallel, "checkpoint": {"every": 10, "keep": 2},
                      "simulation": {"step_ms": step_ms, "shard_kb": 64, "skew": 1.0}, **extra})
    except RuntimeError as e:  # the client's 30 s call timeout: the job may still start; say so and go on if it does
        if not sql(cs, f"select 1 from job_events where job_id = '{job}' and kind = 'planned'"):
            raise
        submit_error = str(e).strip().splitlines()[-1][:300]
    wait_step(cs, job, 3, 600)
    marks = {k: utc(t) for k, t in sql(cs, f"select kind, {TIME} from job_events where job_id = '{job}' and kind in ('submitted', 'planned', 'started')")}
    first, before = steps_done(cs, job), table_stats(cs)
    latency = api_latency(job, token, first)
    wait_step(cs, job, first + 20, 600)
    last, after = steps_done(cs, job), table_stats(cs)
    window = f"job_id = '{job}' and step > {first} and step <= {last}"
    control = [float(r[0]) for r in sql(cs, f"select value from metrics where {window} and name = 'control_ms'")]
    step = [float(r[0]) for r in sql(cs, f"select value from metrics where {window} and name = 'step_ms'")]
    commits = [json.loads(r[0]) for r in sql(cs, f"select detail from job_events where job_id = '{job}' and kind = 'checkpoint-committed'")]
    in_window = [c for c in commits if first < c["step"] <= last]
    delta = lambda tables, i: sum(after.get(t, (0, 0))[i] - before.get(t, (0, 0))[i] for t in tables)
    steps = last - first
    result = {"ranks": ranks, "nodes": nodes, "devices_per_node": DEVICES, "processes": nodes // PER_SILO, "layout": f"ep {ep} x pp {PP} x dp {ranks // (ep * PP)}",
              "cluster_start_s": round(joined_s, 1), "window_steps": steps, "submit_call_error": submit_error,
              "submitted_to_planned_s": round(marks["planned"] - marks["submitted"], 2), "planned_to_started_s": round(marks["started"] - marks["planned"], 2),
              "control_ms": stats(control), "step_overhead_ms": stats([s - step_ms for s in step]),
              "control_share_of_10s_step": round(statistics.mean(control) / 10000, 4),
              "pg_rows_per_step": round(delta(TABLES_STEP, 0) / steps, 1), "pg_bytes_per_step": round(delta(TABLES_STEP, 1) / steps),
              "pg_rows_per_checkpoint": round(delta(TABLES_CKPT, 0) / max(len(in_window), 1), 1),
              "pg_bytes_per_checkpoint": round(delta(TABLES_CKPT, 1) / max(len(in_window), 1)),
              "checkpoint_commit_s": stats([c["seconds"] for c in commits]), "checkpoint_shards": commits[-1]["shards"] if commits else 0,
              "api_latency": latency}
    # The re-plan: SIGKILL of the process hosting n9..n16 (64 ranks, or the spare nodes for 64 ranks).
    epoch_before = int(sql(cs, f"select coalesce(max((detail::json->>'epoch')::int), 1) from job_events where job_id = '{job}' and kind in ('started', 'recovered')")[0][0])
    killed_at = time.time()
    plan = json.loads(sql(cs, f"select detail from job_events where job_id = '{job}' and kind = 'planned' order by seq desc limit 1")[0][0])
    victim = next(r["node"] for r in plan["ranks"] if r["rank"] == min(64, ranks - 1))  # the node of rank 64 (63 in a job of 64)
    sh("deploy/local-cluster.sh", "kill", victim)
    deadline = time.time() + 600
    while time.time() < deadline:
        ev = sql(cs, f"select kind, {TIME}, detail from job_events where job_id = '{job}' and kind in ('node-lost', 'recovering', 'planned', 'recovered') order by seq")
        rec = [e for e in ev if e[0] == "recovered" and json.loads(e[2]).get("epoch", 0) > epoch_before]
        if rec:
            break
        time.sleep(0.5)
    if rec:
        at = utc(rec[-1][1])
        begun = next((utc(e[1]) for e in ev if e[0] in ("node-lost", "recovering") and utc(e[1]) >= killed_at - 1), at)
        planned = [utc(e[1]) for e in ev if e[0] == "planned"][-1]
        first_new = None
        while time.time() < deadline and first_new is None:
            rows = sql(cs, f"select {TIME} from metrics where job_id = '{job}' and name = 'loss' and at > '{rec[-1][1]}+00' order by at limit 1")
            first_new = utc(rows[0][0]) if rows else None
            time.sleep(0.2)
        result["replan"] = {"killed": victim, "detection_s": round(begun - killed_at, 2), "replan_s": round(planned - begun, 2),
                            "start_ranks_s": round(at - planned, 2), "kill_to_next_step_s": round((first_new or time.time()) - killed_at, 2)}
    else:
        result["replan"] = {"error": "no recovery within 600 s"}
    return result


token_out = sh(*EXE, "dashboard-token")
token = token_out.split("token:")[1].split()[0]
os.environ["ORCHESTRATOR__DASHBOARDTOKENHASHES__0"] = token_out.split("hash:")[1].split()[0]
os.environ["ORCHESTRATOR_LOCAL_CLUSTER"], os.environ["DASHBOARD_PORT"] = state, str(DASHBOARD)
results = []
for ranks in counts:
    try:
        results.append(run(ranks, token))
    except Exception as e:  # one size failing is a finding; the others still run
        results.append({"ranks": ranks, "error": f"{type(e).__name__}: {e}"})
    finally:
        stop(state, keep_logs_in=f"/tmp/scale-logs-{ranks}")
    print(json.dumps(results[-1]), flush=True)
report = {"benchmark": "control plane at scale, simulated devices (sim:8), 8 Orleans silos per process, real PostgreSQL",
          "command": f"bench/cluster/scale.py {','.join(map(str, counts))} {step_ms:g} OUT {DEVICES} {PER_SILO}", "date": str(datetime.date.today()),
          "machine": f"{platform.node()}, {os.cpu_count()} cores", "step_ms": step_ms, "results": results}
json.dump(report, open(out, "w"), indent=2)
print(json.dumps(report, indent=2))
