#!/usr/bin/env python3
"""Issue-5 benchmark (2): time from SIGKILL of a silo to the job's next completed step, on loopback.

Starts deploy/local-cluster.sh with two silos (cpu:1 each), submits the tiny job (one rank, checkpoint
every 5 steps), and for each round: waits for a committed checkpoint, SIGKILLs the silo that holds the
rank, waits for the first step of the new epoch, restarts the killed node. The breakdown comes from the
job's own event and metric timestamps in PostgreSQL:
  detection  kill → the recovery began (node-lost / recovering event)
  re-plan    → the new epoch's plan (planned event)
  start      → ranks started and the job Running again (recovered event)
  load+step  → the first completed step of the new epoch (its loss row), of which step_ms is the step
Usage: bench/cluster/recovery-time.py [rounds=3] [out=bench/results/recovery-time-DATE.json]
"""
import datetime, json, os, platform, shutil, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import TIME, demo_data, sh, sql, start, status, stop, submit, utc, wait

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
out = sys.argv[2] if len(sys.argv) > 2 else f"bench/results/recovery-time-{datetime.date.today()}.json"
state = os.environ.get("ORCHESTRATOR_LOCAL_CLUSTER", "/tmp/orchestrator-bench-recovery")
JOB = "bench-recovery"

work = tempfile.mkdtemp(prefix="orchestrator-recovery-")
try:
    cs = start(2, "cpu:1", state)
    submit(work, {"id": JOB, "config": "tiny", "training": {"threads": 1}, "data": demo_data(work), "steps": 100000,
                  "parallel": {"ep": 1, "dp": 1}, "fp8": False, "checkpoint": {"every": 5, "keep": 2}})
    samples = []
    for r in range(rounds):
        s = wait(JOB, lambda s: s["phase"] == "Running" and s["step"] >= 0, 120, "running")
        epoch = s["epoch"]
        first = s["step"]
        wait(JOB, lambda s: s["step"] >= first + 6, 300, "six steps")  # at least one checkpoint of this epoch
        node = status(JOB)["ranks"][0]["node"]
        killed_at = time.time()
        sh("deploy/local-cluster.sh", "kill", node)
        wait(JOB, lambda s: s["epoch"] > epoch and s["phase"] == "Running", 60, "the recovery")
        # the first step of the new epoch: a loss row written after the recovered event
        deadline = time.time() + 60
        while True:
            ev = sql(cs, f"select seq, kind, {TIME}, detail from job_events where job_id = '{JOB}' order by seq")
            rec = [e for e in ev if e[1] == "recovered"][-1]
            rows = sql(cs, f"select m.step, {TIME.replace('(at', '(m.at')}, s.value from metrics m join metrics s on s.job_id = m.job_id and s.step = m.step and s.name = 'step_ms' "
                           f"where m.job_id = '{JOB}' and m.name = 'loss' and m.at > '{rec[2]}+00' order by m.at limit 1")
            if rows or time.time() > deadline:
                break
            time.sleep(0.2)
        begun = next(e for e in ev if e[1] in ("node-lost", "recovering") and utc(e[2]) >= killed_at - 1)
        planned = [e for e in ev if e[1] == "planned"][-1]
        t = lambda e: utc(e[2])
        first_step_at, step_ms = utc(rows[0][1]), float(rows[0][2])
        sample = {"round": r + 1, "killed": node, "detection_s": t(begun) - killed_at, "replan_s": t(planned) - t(begun),
                  "start_ranks_s": t(rec) - t(planned), "load_s": first_step_at - t(rec) - step_ms / 1000,
                  "first_step_s": step_ms / 1000, "total_s": first_step_at - killed_at,
                  "resumed_from_step": json.loads(rec[3]).get("from_step")}
        samples.append({k: round(v, 3) if isinstance(v, float) else v for k, v in sample.items()})
        print(json.dumps(samples[-1]), flush=True)
        sh("deploy/local-cluster.sh", "start", node)
    result = {"benchmark": "SIGKILL of the silo holding the rank → next completed step, tiny job, two silos on loopback",
              "command": f"bench/cluster/recovery-time.py {rounds}", "date": str(datetime.date.today()),
              "machine": f"{platform.node()}, {os.cpu_count()} cores", "samples": samples,
              "total_s_mean": round(statistics.mean(s["total_s"] for s in samples), 3),
              "total_s_max": round(max(s["total_s"] for s in samples), 3)}
    json.dump(result, open(out, "w"), indent=2)
    print(json.dumps(result, indent=2))
finally:
    stop(state, keep_logs_in="/tmp/recovery-logs")
    shutil.rmtree(work, ignore_errors=True)
