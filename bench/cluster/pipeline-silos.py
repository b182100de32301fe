#!/usr/bin/env python3
"""Issue-13 benchmark over real silos: PP 4 as four silo processes (one stage each, cpu:1) on CPU, plus one spare silo.

For each schedule (1f1b, zb1p, dualpipev) one job of a small model (8 layers, 16 micro-batches) for STEPS steps; while it
runs the dashboard's REST timeline (/api/jobs/{id}/pipeline: every stage's F, B, Bi, W intervals of its newest step) is
polled and every step that all stages recorded is kept. Per kept step:
  measured   the API's bubble: max over stages of (makespan − the stage's compute) / makespan;
  busiest    the busiest stage's idle share (makespan − max compute) / makespan: the part stage imbalance does not explain;
  replay     the same ops, same order and same measured durations, with free communication (each op starts when the
             stage's previous op and its input — the previous virtual stage's F, the next one's B — are done): the bubble
             the schedule gives with these unequal stages and no waiting on messages;
  formula    REFERENCE.md's (1f1b (pp−1)(F+B), zb1p (pp−1)(F+B−2W), dualpipev (pp−1)(F&B+B−3W), F&B = F + B, B the input
             part where split) with the mean measured F, B, W, as a share of the ideal makespan m·(F+B+W) + bubble.
tokens/s: tokens a step / median step_ms (steps after the first), against one rank (pp 1, the same model and batch,
training.threads 1 as each stage: with 2, no step finished in 4 minutes under load 34-50, likely an op's two OpenMP threads waiting on each other on oversubscribed cores). Kill-and-resume: a 1f1b job, a checkpoint every 4 steps, the silo of stage 2
killed by pid after step 6; the spare silo takes its stage; kill → resumed event, kill → next completed step, total.
Usage: [STEPS=8] bench/cluster/pipeline-silos.py [out=bench/results/pipeline-silos-DATE.json]
"""
import datetime, json, os, platform, shutil, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import TIME, api, dashboard_token, demo_data, sh, sql, start, status, stop, submit_when_free, utc, wait

out = sys.argv[1] if len(sys.argv) > 1 else f"bench/results/pipeline-silos-{datetime.date.today()}.json"
state = os.environ.get("ORCHESTRATOR_LOCAL_CLUSTER", "/tmp/orchestrator-bench-pipeline-silos")
STEPS = int(os.environ.get("STEPS", 8))
DASHBOARD = int(os.environ.get("DASHBOARD", 5395))
PP, MICRO = 4, 16
MODEL = {"vocab_size": 257, "dim": 64, "inter_dim": 128, "moe_inter_dim": 32, "n_layers": 8, "n_dense_layers": 1, "n_heads": 2,
         "n_routed_experts": 8, "n_shared_experts": 1, "n_activated_experts": 2, "n_expert_groups": 2, "n_limited_groups": 1,
         "score_func": "sigmoid", "route_scale": 1.0, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 16,
         "qk_rope_head_dim": 8, "v_head_dim": 16, "max_seq_len": 64, "mtp_depth": 0}
TRAINING = {"seq_len": 32, "micro_batch_size": 2, "gradient_accumulation": MICRO, "warmup_steps": 1, "threads": 1}
TOKENS = TRAINING["seq_len"] * TRAINING["micro_batch_size"] * MICRO


def spec(job, data, schedule, steps, pp=PP, threads=1, every=1000):
    parallel = {"pp": pp, "schedule": schedule} if pp > 1 else {"ep": 1, "dp": 1}
    return {"id": job, "model": MODEL, "training": TRAINING | {"threads": threads}, "data": data, "steps": steps, "fp8": False,
            "parallel": parallel, "checkpoint": {"every": every, "keep": 2}}


def replay(stages):
    """Makespan of the recorded ops with free communication: same order per stage, same durations."""
    ops = {s["stage"]: [(i["op"], i["micro_batch"], i["virtual_stage"], i["end_ms"] - i["start_ms"]) for i in s["intervals"]] for s in stages}
    last_v = max(v for o in ops.values() for (_, _, v, _) in o)
    done, pos, clock = {}, {s: 0 for s in ops}, {s: 0.0 for s in ops}
    progressed = True
    while progressed:
        progressed = False
        for s, o in ops.items():
            while pos[s] < len(o):
                op, m, v, d = o[pos[s]]
                if op == "F":
                    need = [("F", m, v - 1)] if v > 0 else []
                elif op in ("B", "Bi"):
                    need = [("B", m, v + 1)] if v < last_v else [("F", m, v)]
                else:  # W after its own input-gradient part
                    need = [("B", m, v)]
                if any(n not in done for n in need):
                    break
                begin = max([clock[s]] + [done[n] for n in need])
                clock[s] = begin + d
                done[("B" if op in ("B", "Bi") else op, m, v)] = clock[s]
                pos[s] += 1
                progressed = True
    if any(pos[s] < len(o) for s, o in ops.items()):
        return None  # a dependency the replay does not model: say so rather than guess
    makespan = max(clock.values())
    return max(makespan - sum(d for (_, _, _, d) in o) for o in ops.values()) / makespan


def formula(schedule, stages):
    ivs = [i for s in stages for i in s["intervals"]]
    mean = lambda op: statistics.mean([i["end_ms"] - i["start_ms"] for i in ivs if i["op"] == op] or [0])
    f, b, bi, w = mean("F"), mean("B"), mean("Bi"), mean("W")
    chunks = 2 if schedule == "dualpipev" else 1
    if schedule == "1f1b":
        bubble = (PP - 1) * (f + b)
    elif schedule == "zb1p":
        bubble = (PP - 1) * (f + bi - 2 * w)
    else:
        bubble = (PP - 1) * ((f + b) + b - 3 * w)
    work = MICRO * chunks * (f + b + bi + w)
    return {"F_ms": round(f, 2), "B_ms": round(b, 2), "Bi_ms": round(bi, 2), "W_ms": round(w, 2),
            "bubble": round(bubble / (work + bubble), 3) if work + bubble > 0 else None}


def timelines(token, job, steps):
    """Polls the pipeline view until the job completes; keeps each step all stages recorded (after the first)."""
    kept = {}
    while True:
        s = status(job)
        try:
            view = api(token, f"/api/jobs/{job}/pipeline")
            stages = view["stages"]
            step = stages[0]["step"] if stages else None
            if view.get("bubble") is not None and step and step > 1 and step not in kept:
                kept[step] = view
        except Exception:  # a view between epochs or while the grain moves: the next poll reads it
            pass
        if s["phase"] == "Completed":
            return kept
        if s["phase"] in ("Failed", "Cancelled"):
            raise SystemExit(f"{job} {s['phase']}: {s.get('error')}")
        time.sleep(0.3)


def step_stats(token, job):
    ms = [v for st, v in api(token, f"/api/jobs/{job}/metrics")["series"]["step_ms"] if st > 1]
    return round(statistics.median(ms), 1), round(TOKENS / (statistics.median(ms) / 1000), 1)


work = tempfile.mkdtemp(prefix="orchestrator-pipeline-silos-")
token = dashboard_token(DASHBOARD)
load_before, began = os.getloadavg(), time.time()
result = {"benchmark": "PP 4 over four silo processes on CPU: bubble from the REST timeline vs formula, tokens/s vs one rank, kill and resume",
          "command": f"STEPS={STEPS} bench/cluster/pipeline-silos.py", "date": str(datetime.date.today()),
          "machine": f"{platform.node()}, {os.cpu_count()} cores", "model": MODEL, "training": TRAINING, "schedules": []}
try:
    cs = start(5, "cpu:1", state)
    data = demo_data(work)
    job = "pp1-baseline"
    submit_when_free(work, spec(job, data, "1f1b", STEPS, pp=1, threads=1))
    wait(job, lambda s: s["phase"] == "Completed", 900, job)
    result["one_rank"] = dict(zip(("step_ms", "tokens_per_s"), step_stats(token, job)))
    print(json.dumps(result["one_rank"]), flush=True)
    for schedule in ("1f1b", "zb1p", "dualpipev"):
        job = f"pp4-{schedule}"
        submit_when_free(work, spec(job, data, schedule, STEPS))
        kept = timelines(token, job, STEPS)
        step_ms, tps = step_stats(token, job)
        rows = []
        for step, view in sorted(kept.items()):
            stages = view["stages"]
            makespan = max(i["end_ms"] for s in stages for i in s["intervals"])
            computes = [s["compute_ms"] for s in stages]
            rows.append({"step": step, "measured": round(view["bubble"], 3), "busiest": round((makespan - max(computes)) / makespan, 3),
                         "stage_compute_ms": [round(c, 1) for c in computes], "makespan_ms": round(makespan, 1),
                         "replay": None if (r := replay(stages)) is None else round(r, 3), "formula": formula(schedule, stages)})
        med = lambda key: round(statistics.median([r[key] for r in rows if r[key] is not None]), 3) if rows else None
        figure = {"schedule": schedule, "step_ms": step_ms, "tokens_per_s": tps,
                  "vs_one_rank": round(tps / result["one_rank"]["tokens_per_s"], 2), "steps_with_timeline": len(rows),
                  "bubble_measured": med("measured"), "bubble_busiest_stage": med("busiest"), "bubble_replay_free_comm": med("replay"),
                  "bubble_formula": round(statistics.median([r["formula"]["bubble"] for r in rows]), 3) if rows else None, "per_step": rows}
        result["schedules"].append(figure)
        print(json.dumps({k: v for k, v in figure.items() if k != "per_step"}), flush=True)

    job = "pp4-kill"
    submit_when_free(work, spec(job, data, "1f1b", 16, every=4))
    wait(job, lambda s: s["phase"] == "Running" and s["step"] >= 6, 900, "step 6")
    node = next(r["node"] for r in status(job)["ranks"] if r["rank"] == 2)
    killed_at = time.time()
    sh("deploy/local-cluster.sh", "kill", node)
    s = wait(job, lambda s: s["phase"] == "Completed", 900, "the job to end after the kill")
    resumed = [(utc(t), json.loads(d)) for t, d in sql(cs, f"select {TIME}, detail from job_events where job_id = '{job}' and kind = 'resumed' order by seq")]
    after = sql(cs, f"select {TIME} from metrics where job_id = '{job}' and name = 'loss' and at > to_timestamp({killed_at}) order by at limit 1")
    done = sql(cs, f"select {TIME} from job_events where job_id = '{job}' and kind = 'completed' order by seq desc limit 1")
    result["kill_and_resume"] = {"killed": node, "stage": 2, "phase": s["phase"], "final_step": s["step"],
                                 "from_step": resumed[-1][1].get("from_step") if resumed else None,
                                 "kill_to_resumed_event_s": round(resumed[-1][0] - killed_at, 2) if resumed else None,
                                 "kill_to_next_step_s": round(utc(after[0][0]) - killed_at, 2) if after else None,
                                 "kill_to_completed_s": round(utc(done[0][0]) - killed_at, 2) if done else None}
    print(json.dumps(result["kill_and_resume"]), flush=True)
finally:
    result["load_average_at_start"] = [round(x, 1) for x in load_before]
    result["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    result["wall_s"] = round(time.time() - began, 1)
    json.dump(result, open(out, "w"), indent=2)
    stop(state, keep_logs_in="/tmp/pipeline-silos-logs")
    shutil.rmtree(work, ignore_errors=True)
