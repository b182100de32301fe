#!/usr/bin/env python3
"""Issue-14 benchmark over real silos: EP 16 as four silo processes of 4 ranks each (cpu:4), skewed tokens, live re-placement.

Four jobs one after the other in one cluster (deploy/local-cluster.sh 4 --devices cpu:4), a very small MoE (64 routed experts
top-6 in 8 groups, 2 MoE layers, dim 32) on a data set whose own tokens are skewed (a Zipf draw over a few words, so the
random router sends most tokens to a few experts):
  re-placement off / on (on: parallel.redundant_experts 16, balancing.replace_every STEPS/2 → one move at the middle step)
  × bias balancing off (training.bias_update_speed 0) / on (0.01).
Everything is read back through the dashboard's REST API: /api/jobs/{id}/expert-load (each step's global loads per layer),
/api/jobs/{id}/experts (the initial map and every expert-replacement event with its maps, copies, bytes, seconds) and
/api/jobs/{id}/metrics (step_ms: the rank's step time as the job stores it). Rank imbalance = max rank tokens / mean over
the 16 EP ranks, worst MoE layer, a replicated expert's tokens shared evenly by its copies (as the dispatch splits them and
ExpertReplacementSchedule.Imbalance counts them), averaged over the steps before and after the move.
Usage: [STEPS=12] bench/cluster/eplb-silos.py [out=bench/results/eplb-silos-DATE.json]
"""
import datetime, json, os, platform, random, shutil, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import EXE, api, dashboard_token, sh, start, stop, submit_when_free, wait

out = sys.argv[1] if len(sys.argv) > 1 else f"bench/results/eplb-silos-{datetime.date.today()}.json"
state = os.environ.get("ORCHESTRATOR_LOCAL_CLUSTER", "/tmp/orchestrator-bench-eplb-silos")
STEPS = int(os.environ.get("STEPS", 12))
DASHBOARD = int(os.environ.get("DASHBOARD", 5394))
EP, REDUNDANT = 16, 16
MODEL = {"vocab_size": 257, "dim": 32, "inter_dim": 64, "moe_inter_dim": 16, "n_layers": 3, "n_dense_layers": 1, "n_heads": 2,
         "n_routed_experts": 64, "n_shared_experts": 1, "n_activated_experts": 6, "n_expert_groups": 8, "n_limited_groups": 4,
         "score_func": "sigmoid", "route_scale": 1.0, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 16,
         "qk_rope_head_dim": 8, "v_head_dim": 16, "max_seq_len": 64, "mtp_depth": 0}


def skewed_data(work):
    """A byte-token data set whose text is a Zipf draw (exponent 1.2) over 12 short words: few distinct contexts, so a few experts win."""
    rng = random.Random(14)
    words = ["the", "cat", "sat", "on", "mat", "and", "ran", "to", "a", "dog", "big", "red"]
    weights = [1 / (i + 1) ** 1.2 for i in range(len(words))]
    os.makedirs(f"{work}/skewed", exist_ok=True)
    for d in range(8):
        with open(f"{work}/skewed/doc{d}.txt", "w") as f:
            f.write(" ".join(rng.choices(words, weights, k=4000)))
    sh(*EXE, "prepare-data", "--input", f"{work}/skewed", "--tokenizer", "bytes", "--out", f"{work}/data")
    return f"{work}/data"


def spec(job, data, replacing, gamma):
    s = {"id": job, "model": MODEL, "data": data, "steps": STEPS, "fp8": False,
         "training": {"seq_len": 32, "micro_batch_size": 2, "warmup_steps": 1, "threads": 1, "bias_update_speed": gamma},
         "parallel": {"ep": EP, "dp": 1}, "checkpoint": {"every": 1000, "keep": 1}}
    if replacing:
        s["parallel"]["redundant_experts"] = REDUNDANT
        s["balancing"] = {"replace_every": STEPS // 2, "nodes": 1}
    return s


def rank_loads(slots, loads, ranks):
    """Per-rank tokens of one layer under a map (slots[s] = logical expert, slot s on rank s // slots-per-rank)."""
    per = len(slots) // ranks
    hosts = {}
    for s, e in enumerate(slots):
        hosts.setdefault(e, set()).add(s // per)
    result = [0.0] * ranks
    for e, rs in hosts.items():
        for r in rs:
            result[r] += loads[e] / len(rs)
    return result


def imbalance(layer_slots, step_loads, ranks):
    worst = 1.0
    for l, loads in enumerate(step_loads):
        r = rank_loads(layer_slots[l], loads, ranks)
        mean = sum(r) / ranks
        worst = max(worst, max(r) / mean if mean > 0 else 1.0)
    return worst


def initial_slots(experts_view):
    """The version-0 map from the experts view's shards (rank order; each shard lists its experts)."""
    per = experts_view["slots_per_rank"]
    result = []
    for layer in experts_view["layers"]:
        slots = []
        for shard in sorted(layer["shards"], key=lambda s: s["shard"]):
            held = [c["expert"] for c in shard["experts"]]
            slots += (held + held[:1] * per)[:per]  # two slots of one expert on one rank show as one copy: pad with it
        result.append(slots)
    return result


def measure(token, job):
    loads = api(token, f"/api/jobs/{job}/expert-load")
    view = api(token, f"/api/jobs/{job}/experts")
    metrics = api(token, f"/api/jobs/{job}/metrics")["series"]
    by_step = {}
    for row in loads:
        by_step.setdefault(row["step"], {})[row["layer"]] = row["loads"]
    steps = sorted(by_step)
    moves = view["replacements"]
    maps, current = {}, None
    for step in steps:
        before = [m for m in moves if m["step"] < step]  # a move after step k routes step k + 1 on
        current = [list(x) for x in before[-1]["to"]["slots"]] if before else None
        maps[step] = current
    if moves:
        first = [list(x) for x in moves[0]["from"]["slots"]]
    else:
        first = initial_slots(view)
    per_step = []
    for step in steps:
        layers = [by_step[step][l] for l in sorted(by_step[step])]
        per_step.append(round(imbalance(maps[step] or first, layers, EP), 3))
    step_ms = {int(s): v for s, v in metrics.get("step_ms", [])}
    half = STEPS // 2
    # Steps are 1-based in the store; the move after step `half` routes steps half+1.. on the new map. The first step of
    # each phase is left out of the step-time medians (warm-up, the first step on the new map).
    before = [i for i, s in zip(per_step, steps) if s <= half]
    after = [i for i, s in zip(per_step, steps) if s > half]
    ms_before = [step_ms[s] for s in steps if 1 < s <= half and s in step_ms]
    ms_after = [step_ms[s] for s in steps if s > half + 1 and s in step_ms]
    result = {"job": job, "steps": steps, "imbalance_per_step": per_step,
              "imbalance_before": round(statistics.mean(before), 3), "imbalance_after": round(statistics.mean(after), 3),
              "step_ms_before_median": round(statistics.median(ms_before), 1), "step_ms_after_median": round(statistics.median(ms_after), 1),
              "step_ms_per_step": [round(step_ms.get(s, 0), 1) for s in steps]}
    for m in moves:
        result.setdefault("moves", []).append({k: m.get(k) for k in ("step", "copies", "bytes", "seconds")} |
                                              {"rank_loads_before_max_mean": ratio(m.get("rank_loads_before")),
                                               "rank_loads_after_max_mean": ratio(m.get("rank_loads_after"))})
    return result


def ratio(rank_loads_by_layer):
    if not rank_loads_by_layer:
        return None
    rows = rank_loads_by_layer if isinstance(rank_loads_by_layer[0], list) else [rank_loads_by_layer]
    return round(max(max(r) / (sum(r) / len(r)) for r in rows if sum(r) > 0), 3)


work = tempfile.mkdtemp(prefix="orchestrator-eplb-silos-")
token = dashboard_token(DASHBOARD)
load_before = os.getloadavg()
began = time.time()
try:
    start(4, "cpu:4", state)
    data = skewed_data(work)
    runs = []
    for replacing in (False, True):
        for gamma in (0.0, 0.01):
            job = f"eplb16-{'move' if replacing else 'stay'}-bias-{'on' if gamma else 'off'}"
            submit_when_free(work, spec(job, data, replacing, gamma))
            wait(job, lambda s: s["phase"] == "Completed", 1200, f"{job} to complete")
            runs.append({"replacement": replacing, "bias_update_speed": gamma} | measure(token, job))
            print(json.dumps(runs[-1]), flush=True)
    result = {"benchmark": "EP 16 over four silo processes (4 ranks each), skewed tokens, live expert re-placement off/on × bias balancing off/on",
              "command": f"STEPS={STEPS} bench/cluster/eplb-silos.py", "date": str(datetime.date.today()),
              "machine": f"{platform.node()}, {os.cpu_count()} cores", "load_average_at_start": [round(x, 1) for x in load_before],
              "load_average_at_end": [round(x, 1) for x in os.getloadavg()], "wall_s": round(time.time() - began, 1),
              "model": MODEL, "ep": EP, "redundant_experts": REDUNDANT, "runs": runs}
    json.dump(result, open(out, "w"), indent=2)
    print(json.dumps(result, indent=2))
finally:
    stop(state, keep_logs_in="/tmp/eplb-silos-logs")
    shutil.rmtree(work, ignore_errors=True)
