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
import datetime, json, os, platform, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.chdir(ROOT)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
out = sys.argv[2] if len(sys.argv) > 2 else f"bench/results/recovery-time-{datetime.date.today()}.json"
state = os.environ.setdefault("ORCHESTRATOR_LOCAL_CLUSTER", "/tmp/orchestrator-bench-recovery")
EXE = ["dotnet", "Silo/bin/Release/net10.0/orchestrator.dll"]
JOB = "bench-recovery"


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout


def sql(cs, query):
    port = re.search(r"Port=(\d+)", cs).group(1)
    return [line.split("|") for line in sh("psql", f"postgresql://postgres@127.0.0.1:{port}/postgres", "-At", "-c", query).splitlines() if line]


def status():
    return json.loads(sh(*EXE, "job", JOB, "--json"))


def wait(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        s = status()
        if predicate(s):
            return s
        if s["phase"] in ("Failed", "Cancelled", "Completed"):
            raise SystemExit(f"job {s['phase']} while waiting for {what}: {s.get('error')}")
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def ts(text):
    return datetime.datetime.fromisoformat(text.replace(" ", "T")).timestamp()


work = tempfile.mkdtemp(prefix="orchestrator-recovery-")
try:
    text = sh("deploy/local-cluster.sh", "2", "--devices", "cpu:1")
    cs = re.search(r"ORCHESTRATOR__POSTGRES='([^']*)'", text).group(1)
    os.environ["ORCHESTRATOR__POSTGRES"] = cs
    sh(*EXE, "demo", "--steps", "1", "--seconds", "5", "--work-dir", f"{work}/demo")
    spec = {"id": JOB, "config": "tiny", "training": {"threads": 1}, "data": f"{work}/demo/data", "steps": 100000,
            "parallel": {"ep": 1, "dp": 1}, "fp8": False, "checkpoint": {"every": 5, "keep": 2}}
    json.dump(spec, open(f"{work}/job.json", "w"))
    sh(*EXE, "submit", f"{work}/job.json")
    samples = []
    for r in range(rounds):
        s = wait(lambda s: s["phase"] == "Running" and s["step"] >= 0, 120, "running")
        epoch = s["epoch"]
        first = s["step"]
        wait(lambda s: s["step"] >= first + 6, 300, "six steps")  # at least one checkpoint of this epoch
        node = status()["ranks"][0]["node"]
        killed_at = time.time()
        sh("deploy/local-cluster.sh", "kill", node)
        wait(lambda s: s["epoch"] > epoch and s["phase"] == "Running", 60, "the recovery")
        # the first step of the new epoch: a loss row written after the recovered event
        deadline = time.time() + 60
        while True:
            ev = sql(cs, f"select seq, kind, to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), detail from job_events where job_id = '{JOB}' order by seq")
            rec = [e for e in ev if e[1] == "recovered"][-1]
            rows = sql(cs, f"select m.step, to_char(m.at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), s.value from metrics m join metrics s on s.job_id = m.job_id and s.step = m.step and s.name = 'step_ms' "
                           f"where m.job_id = '{JOB}' and m.name = 'loss' and m.at > '{rec[2]}+00' order by m.at limit 1")
            if rows or time.time() > deadline:
                break
            time.sleep(0.2)
        begun = next(e for e in ev if e[1] in ("node-lost", "recovering") and ts(e[2] + "+00:00") >= killed_at - 1)
        planned = [e for e in ev if e[1] == "planned"][-1]
        t = lambda e: ts(e[2] + "+00:00")
        first_step_at, step_ms = ts(rows[0][1] + "+00:00"), float(rows[0][2])
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
    subprocess.run(f"mkdir -p /tmp/recovery-logs && cp {state}/*.log /tmp/recovery-logs/ 2>/dev/null", shell=True)
    subprocess.run(["deploy/local-cluster.sh", "stop"], capture_output=True)
    subprocess.run(["rm", "-rf", work])
