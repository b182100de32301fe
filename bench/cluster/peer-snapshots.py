#!/usr/bin/env python3
"""Issue-15 benchmark: peer snapshots on loopback — steps lost per kill, kill → next completed step, the snapshot's cost.

Starts deploy/local-cluster.sh with three silos (cpu:2 each) and runs a small model (or the tiny config) as dp 2 (its ranks on n1 and n2,
each rank's state copied every step to its own node and its ring buddy: checkpoint.memory_copies 1, memory_every 1;
disk checkpoints every 20 steps).
  cost     jobs of the same spec in the one cluster, without and with snapshots, alternating (ABBA) for ROUNDS rounds (so the
           machine's load, shared with other work, falls on both alike): per job the steps after the first 3 (warm-up);
           the ratio with/without of the pooled medians of the wall time between steps, and of step_ms; and, in the
           runs with snapshots, the pause each boundary took (snapshot_ms) against the wall time of a step.
  kills    KILLS kills (default 20; or until SECONDS): a random moment (0–1.5 s) after the job has stepped, SIGKILL the node of rank 0 (its dense
           shard then lives only in its buddy's memory), wait for the new epoch's first completed step, restart the
           node. Per kill, from the job's own events: source (memory/disk), steps_lost, last step heard → next
           completed step (resumed.last_step_to_step_ms, an upper bound of kill → next step), detection, re-plan,
           state load; and the wall-clock kill → the resumed event.
  memory   the rank's snapshot bytes (its shard: the state it holds) and the bytes each holder kept when the job ended
           (silo logs): host memory per rank against its state size.
Usage: [MODEL=small|tiny] [COST_STEPS=120] [ROUNDS=2] [KILLS=20] bench/cluster/peer-snapshots.py [seconds=900] [out=bench/results/peer-snapshots-DATE.json]
"""
import datetime, glob, json, os, platform, random, re, shutil, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import EXE, TIME, demo_data, sh, sql, start, status, stop, submit, utc, wait

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 900
kills = int(os.environ.get("KILLS", 20))
out = sys.argv[2] if len(sys.argv) > 2 else f"bench/results/peer-snapshots-{datetime.date.today()}.json"
state = os.environ.get("ORCHESTRATOR_LOCAL_CLUSTER", "/tmp/orchestrator-bench-snapshots")
random.seed(15)


# The cluster tests' small model (tests/Cluster.Tests/Support/TinyJob.cs): steps of tens of ms, so a couple of minutes
# hold many kills. MODEL=tiny uses deploy/configs/tiny instead (steps of seconds on 2 cores, a 21 MB model).
SMALL = {"vocab_size": 257, "dim": 32, "inter_dim": 64, "moe_inter_dim": 16, "n_layers": 2, "n_dense_layers": 1, "n_heads": 2,
         "n_routed_experts": 8, "n_shared_experts": 1, "n_activated_experts": 2, "n_expert_groups": 2, "n_limited_groups": 1,
         "score_func": "sigmoid", "route_scale": 1.0, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 16,
         "qk_rope_head_dim": 8, "v_head_dim": 16, "max_seq_len": 64, "mtp_depth": 0}
MODEL = os.environ.get("MODEL", "small")


def spec(job, data, steps, copies):
    checkpoint = {"every": 20, "keep": 2}
    if copies:
        checkpoint |= {"memory_every": 1, "memory_copies": copies}
    model = {"config": "tiny", "training": {"threads": 1}} if MODEL == "tiny" else \
        {"model": SMALL, "training": {"seq_len": 32, "micro_batch_size": 2, "warmup_steps": 1, "threads": 1}}
    return {"id": job, **model, "data": data, "steps": steps, "parallel": {"ep": 1, "dp": 2}, "fp8": False, "checkpoint": checkpoint}


def submit_when_free(work, job_spec):
    """Submits, retrying while the previous job's slots are still being released (its end is recorded first)."""
    for attempt in range(20):
        try:
            return submit(work, job_spec)
        except RuntimeError as e:
            if "free" not in str(e) or attempt == 19:
                raise
            time.sleep(0.5)


def step_ms(cs, job):
    """Per step: the trainer's own step time, and the wall-clock between consecutive steps' loss rows (what a snapshot's
    stall at the boundary, outside the trainer's clock, adds to)."""
    rows = sql(cs, f"select step, value from metrics where job_id = '{job}' and name = 'step_ms' order by step")
    walls = sql(cs, f"select step, {TIME} from metrics where job_id = '{job}' and name = 'loss' order by step")
    at = [utc(t) for s, t in walls if int(s) > 3]
    return [float(v) for s, v in rows if int(s) > 3], [1000 * (b - a) for a, b in zip(at, at[1:])]


def events(cs, job, kind):
    return [(utc(e[0]), json.loads(e[1])) for e in sql(cs, f"select {TIME}, detail from job_events where job_id = '{job}' and kind = '{kind}' order by seq")]


work = tempfile.mkdtemp(prefix="orchestrator-snapshots-")
try:
    load_at_start = os.getloadavg()
    cs = start(3, "cpu:2", state)
    data = demo_data(work)
    cost, pooled = {"rounds": []}, {"without": ([], []), "with": ([], [])}
    for turn in range(int(os.environ.get("ROUNDS", 2))):
        order = (("without", 0), ("with", 1))
        for name, copies in order if turn % 2 == 0 else order[::-1]:  # ABBA: the machine's drift falls on both alike
            job = f"cost-{name}-{turn}"
            submit_when_free(work, spec(job, data, int(os.environ.get("COST_STEPS", 120)), copies))
            wait(job, lambda s: s["phase"] == "Completed", 600, f"{job} to complete")
            ms, wall = step_ms(cs, job)
            pooled[name][0].extend(ms)
            pooled[name][1].extend(wall)
            cost["rounds"].append({"job": job, "steps": len(ms), "step_ms_median": round(statistics.median(ms), 2), "wall_ms_median": round(statistics.median(wall), 2)})
    for name, (ms, wall) in pooled.items():
        cost[name] = {"steps": len(ms), "step_ms_mean": round(statistics.mean(ms), 2), "step_ms_median": round(statistics.median(ms), 2),
                      "wall_ms_mean": round(statistics.mean(wall), 2), "wall_ms_median": round(statistics.median(wall), 2)}
    for key in ("step_ms_mean", "step_ms_median", "wall_ms_mean", "wall_ms_median"):
        cost[f"overhead_{key}_pct"] = round(100 * (cost["with"][key] / cost["without"][key] - 1), 2)
    # In the runs themselves: the pause each boundary took for the snapshot (the copy; the agreement rides in the
    # step's all-reduce), against the step's wall time.
    stall = [float(v) for s, v in sql(cs, "select step, value from metrics where job_id like 'cost-with-%' and name = 'snapshot_ms'") if int(s) > 3]
    cost["snapshot_stall_ms_mean"] = round(statistics.mean(stall), 3)
    cost["snapshot_stall_ms_median"] = round(statistics.median(stall), 3)
    cost["snapshot_stall_pct_of_wall"] = round(100 * statistics.mean(stall) / cost["with"]["wall_ms_mean"], 2)
    print(json.dumps(cost), flush=True)

    JOB = "bench-snapshots"
    submit_when_free(work, spec(JOB, data, 100000, 1))
    samples, began = [], time.time()
    while len(samples) < kills and time.time() - began < seconds:
        s = wait(JOB, lambda s: s["phase"] == "Running" and s["step"] >= 0, 120, "running")
        epoch, first = s["epoch"], s["step"]
        wait(JOB, lambda s: s["step"] >= first + 3, 120, "three steps")
        time.sleep(random.uniform(0, 1.5))  # a random moment: mid-step or mid-snapshot
        node = next(r["node"] for r in status(JOB)["ranks"] if r["rank"] == 0)
        seen = len(events(cs, JOB, "resumed"))
        killed_at = time.time()
        sh("deploy/local-cluster.sh", "kill", node)
        deadline = time.time() + 90
        while len(events(cs, JOB, "resumed")) <= seen and time.time() < deadline:
            time.sleep(0.1)
        resumed_at, resumed = events(cs, JOB, "resumed")[-1]
        _, recovered = events(cs, JOB, "recovered")[-1]
        sample = {"kill": len(samples) + 1, "killed": node, "source": resumed["source"], "steps_lost": resumed["steps_lost"],
                  "from_step": resumed["from_step"], "why": recovered.get("source_reason"), "nodes": recovered.get("nodes"), "kill_to_resumed_event_s": resumed_at - killed_at,
                  "last_step_to_next_step_s": (resumed["last_step_to_step_ms"] or 0) / 1000,
                  "detection_s": (recovered.get("detection_ms") or 0) / 1000,  # 0: the job grain died with the node and its successor knew no last step
                  "replan_s": (recovered.get("replan_ms") or 0) / 1000,
                  "state_load_s": resumed["state_load_ms"] / 1000, "rank_ready_s": resumed["rank_ready_ms"] / 1000}
        samples.append({k: round(v, 3) if isinstance(v, float) else v for k, v in sample.items()})
        print(json.dumps(samples[-1]), flush=True)
        sh("deploy/local-cluster.sh", "start", node)
    sh(*EXE, "cancel", JOB)
    time.sleep(3)
    logs = "".join(open(f).read() for f in glob.glob(f"{state}/silo-*.log"))
    shard = [int(b) for b in re.findall(r"peer snapshots of (\d+) bytes", logs)]
    held = [int(b) for b in re.findall(r"Snapshot holder \S+ dropped its copies \((\d+) bytes\)", logs)]
    per_rank = [{"state_bytes": b, "holder_bytes_max": max(held) if held else None,
                 "held_over_state": round(max(held) / b, 2) if held and b else None} for b in sorted(set(shard))]
    result = {"benchmark": "peer snapshots: kill -9 of rank 0's node → next completed step, steps lost; step time with and without",
              "command": f"MODEL={MODEL} ROUNDS={os.environ.get('ROUNDS', 2)} COST_STEPS={os.environ.get('COST_STEPS', 120)} KILLS={kills} bench/cluster/peer-snapshots.py {seconds:g}", "model": MODEL, "date": str(datetime.date.today()),
              "machine": f"{platform.node()}, {os.cpu_count()} cores", "cost": cost, "samples": samples,
              "load_average_start_end": [round(load_at_start[0], 2), round(os.getloadavg()[0], 2)],
              "kills": len(samples), "snapshot_bytes_per_rank": sorted(set(shard)), "holder_bytes_at_end": held, "memory_per_rank": per_rank}
    if samples:  # KILLS=0 measures the cost alone
        result |= {"steps_lost_over_1": sum(s["steps_lost"] > 1 for s in samples), "from_memory": sum(s["source"] == "memory" for s in samples),
                   "steps_lost_max": max(s["steps_lost"] for s in samples),
                   "steps_lost_mean": round(statistics.mean(s["steps_lost"] for s in samples), 2),
                   "last_step_to_next_step_s_mean": round(statistics.mean(s["last_step_to_next_step_s"] for s in samples), 3),
                   "last_step_to_next_step_s_max": round(max(s["last_step_to_next_step_s"] for s in samples), 3),
                   "kill_to_resumed_event_s_mean": round(statistics.mean(s["kill_to_resumed_event_s"] for s in samples), 3),
                   "kill_to_resumed_event_s_max": round(max(s["kill_to_resumed_event_s"] for s in samples), 3),
                   "phases_s_mean": {k: round(statistics.mean(s[k] for s in samples), 3) for k in ("detection_s", "replan_s", "rank_ready_s", "state_load_s")}}
    json.dump(result, open(out, "w"), indent=2)
    print(json.dumps(result, indent=2))
finally:
    stop(state, keep_logs_in="/tmp/snapshots-logs")
    shutil.rmtree(work, ignore_errors=True)
