#!/usr/bin/env python3
"""Issue-5 benchmark (3): fault-injection soak. Three silos on loopback (deploy/local-cluster.sh), the tiny
job with EP = 2, and every INTERVAL seconds (± 25 %, seeded) a random silo that holds a rank is SIGKILLed and
started again RESTART seconds later, for MINUTES minutes. Effective training time = the step time of every
step that counts (each step once, its final run) over the wall time from the first step to the end; and, with
every rank's waits inside a step counted where they fall, the counted steps at the job's steady pace (the
median time between consecutive steps) over the same wall time.
MEMORY_COPIES=1 adds peer snapshots every step (checkpoint.memory_copies, issue 15); the disk checkpoints stay every 5 steps
unless CHECKPOINT_EVERY says otherwise.
Usage: [MEMORY_COPIES=0|1|2] [CHECKPOINT_EVERY=5] bench/cluster/soak.py [minutes=10] [interval_s=120] [restart_s=10] [out=bench/results/soak-DATE.json]
"""
import datetime, json, os, platform, random, shutil, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import TIME, demo_data, sh, sql, start, status, stop, submit, utc, wait

minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 120
restart = float(sys.argv[3]) if len(sys.argv) > 3 else 10
out = sys.argv[4] if len(sys.argv) > 4 else f"bench/results/soak-{datetime.date.today()}.json"
state = os.environ.get("ORCHESTRATOR_LOCAL_CLUSTER", "/tmp/orchestrator-bench-soak")
JOB = "bench-soak"
rng = random.Random(2026)
copies = int(os.environ.get("MEMORY_COPIES", 0))
every = int(os.environ.get("CHECKPOINT_EVERY", 5))  # the disk checkpoints' period (5: the figures before 2026-12-08)
checkpoint = {"every": every, "keep": 2} | ({"memory_every": 1, "memory_copies": copies} if copies else {})

work = tempfile.mkdtemp(prefix="orchestrator-soak-")
try:
    cs = start(3, "cpu:1", state)
    submit(work, {"id": JOB, "config": "tiny", "training": {"threads": 1, "micro_batch_size": 4}, "data": demo_data(work),
                  "steps": 1_000_000, "parallel": {"ep": 2, "dp": 1}, "fp8": False, "checkpoint": checkpoint})
    wait(JOB, lambda s: s["step"] >= 1, 120, "the first step")
    begin = time.time()
    end = begin + minutes * 60
    kills = []
    while time.time() < end:
        time.sleep(max(0.0, min(end - time.time(), interval * rng.uniform(0.75, 1.25))))
        if time.time() >= end:
            break
        s = status(JOB)
        if s["phase"] != "Running":
            continue
        node = rng.choice(sorted({r["node"] for r in s["ranks"]}))
        sh("deploy/local-cluster.sh", "kill", node)
        kills.append({"at_s": round(time.time() - begin, 1), "node": node, "step": s["step"], "epoch": s["epoch"]})
        print(json.dumps(kills[-1]), flush=True)
        time.sleep(restart)
        sh("deploy/local-cluster.sh", "start", node)
    final = status(JOB)
    sh("dotnet", "Silo/bin/Release/net10.0/orchestrator.dll", "cancel", JOB)
    steps = sql(cs, f"select step, value, {TIME} from metrics where job_id = '{JOB}' and name = 'step_ms' order by step")
    first_at = utc(sql(cs, f"select {TIME} from metrics where job_id = '{JOB}' and name = 'loss' and step = 1")[0][0])
    counted = [(int(r[0]), float(r[1]) / 1000) for r in steps if utc(r[2]) <= end]
    useful = sum(seconds for _, seconds in counted)
    wall = end - first_at + (counted[0][1] if counted else 0)  # the wall clock from the start of step 1
    # The job's own steady pace: the median time between consecutive steps' reports (each step's final run).
    # Steps that straddle a kill, a replay or a checkpoint are the slow minority, so the median is the pace of
    # a plain step, with everything a plain step costs (its reports, the ranks' waits for each other).
    at = {int(r[0]): utc(r[2]) for r in steps if utc(r[2]) <= end}
    periods = sorted(at[k + 1] - at[k] for k in at if k + 1 in at and at[k + 1] > at[k])
    pace = periods[len(periods) // 2] if periods else 0
    # Where the time off the steady pace went: each period's excess over the pace, by what it overlaps — a kill (the
    # recovery gap: detection, re-plan, rank start, the replayed steps), the 30 s after the killed silo's restart (its
    # process starting on the same cores), or neither (checkpoints, snapshots, noise).
    killed_at = [begin + k["at_s"] for k in kills]
    excess = {"recovery_gap_s": 0.0, "after_restart_30s_s": 0.0, "other_s": 0.0}
    for k in at:
        if k + 1 not in at or at[k + 1] <= at[k] or at[k + 1] - at[k] <= pace:
            continue
        extra = at[k + 1] - at[k] - pace
        if any(at[k] <= t < at[k + 1] + 1 for t in killed_at):
            excess["recovery_gap_s"] += extra
        elif any(t + restart <= at[k + 1] <= t + restart + 30 for t in killed_at):
            excess["after_restart_30s_s"] += extra
        else:
            excess["other_s"] += extra
    recovered = [json.loads(e[0]) for e in sql(cs, f"select detail from job_events where job_id = '{JOB}' and kind = 'recovered' order by seq")]
    events = [e[0] for e in sql(cs, f"select kind from job_events where job_id = '{JOB}' order by seq")]
    resumed = [json.loads(e[0]) for e in sql(cs, f"select detail from job_events where job_id = '{JOB}' and kind = 'resumed' order by seq")]
    result = {"benchmark": "fault-injection soak: tiny job, EP 2 over 3 silos (cpu:1 each), a random rank-holding silo SIGKILLed every "
                           f"{interval:.0f} s ± 25 %, restarted {restart:.0f} s later",
              "command": f"MEMORY_COPIES={copies} CHECKPOINT_EVERY={every} bench/cluster/soak.py {minutes:g} {interval:g} {restart:g}", "memory_copies": copies,
              "recoveries_detail": [{k: r.get(k) for k in ("source", "from_step", "steps_lost", "last_step_to_step_ms")} for r in resumed], "date": str(datetime.date.today()),
              "machine": f"{platform.node()}, {os.cpu_count()} cores", "minutes": minutes, "kills": kills,
              "final_phase_before_cancel": final["phase"], "final_epoch": final["epoch"], "steps_counted": len(counted),
              "useful_step_seconds": round(useful, 1), "wall_seconds": round(wall, 1),
              "effective_training_time": round(useful / wall, 4),
              "steady_step_period_s": round(pace, 4),
              "effective_training_time_at_steady_pace": round(len(counted) * pace / wall, 4),
              "off_pace_seconds": round(wall - len(counted) * pace, 1), "off_pace_excess": {k: round(v, 1) for k, v in excess.items()},
              "recovery_phases_ms": [{k: r.get(k) for k in ("detection_ms", "replan_ms", "resume_point_ms", "rank_start_ms", "source")} for r in recovered],
              "resumed_phases_ms": [{k: r.get(k) for k in ("rank_ready_ms", "state_load_ms", "noticed_to_step_ms")} for r in resumed],
              "recoveries": events.count("recovered"), "failed": "failed" in events}
    json.dump(result, open(out, "w"), indent=2)
    print(json.dumps(result, indent=2))
finally:
    stop(state, keep_logs_in="/tmp/soak-logs")
    shutil.rmtree(work, ignore_errors=True)
