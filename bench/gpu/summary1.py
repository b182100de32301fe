"""Prints the figures of a one-GPU run (bench/gpu/run1.sh) from the JSON files in the folder given: per config,
tokens/s, MFU, peak memory and the goal ratios of ours bf16 / ours FP8 / reference eager / reference compiled;
the fp8 bench's P3; host syncs per step."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
from model import flops_per_token  # noqa: E402

root = sys.argv[1]
repo = os.path.join(os.path.dirname(__file__), "../..")
PEAK_BF16 = 989.4e12  # H100/H200 SXM dense bf16 (datasheet); MFU of FP8 runs is quoted against it too


def load(name):
    path = os.path.join(root, name)
    try:
        r = json.load(open(path))
    except (OSError, ValueError):
        return None
    return r.get("run", r)


fp8 = load("fp8.json")
if fp8:
    print(f"fp8 bench: failed checks {fp8.get('failed_checks', 'not reached')}")
    for r in fp8.get("p3_quantise", []):
        name = f"P3 {r['grouping']}{' T' if r['transposed'] else ''} {r['dtype']}"
        keys = [k for k in r if k.endswith("fraction_of_copy")]
        print(f"{name}: " + ", ".join(f"{k} {r[k]:.0%}" for k in keys) + " (goal 85%)")

native = load("native.json")
if native:
    print(f"native bridge: {native.get('bridge', {}).get('status', '?')}; failed checks {native.get('failed_checks', 'not reached')}")
    for key in ("grouped_mm_vs_loop", "grouped_mm_layer", "fused_adamw_vs_plain", "fused_adamw_update", "rms_norm_vs_module", "error_path"):
        r = native.get(key)
        if r:
            figures = {k: v for k, v in r.items() if isinstance(v, float)}
            print(f"  {key}: {'PASS' if r.get('pass') else 'FAIL'} " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()))

for c in sys.argv[2:] or ["moe-2b", "moe-1b"]:
    model = json.load(open(os.path.join(repo, f"deploy/configs/{c}.json")))["model"]
    runs = {k: load(f"{c}-{k}.json") for k in ("ours-bf16", "ours-bf16-bridge", "ours-bf16-bridge-gmm", "ours-bf16-bridge-gmm-adamw",
                                               "ours-fp8", "ref-eager", "ref-compiled")}
    for k, r in runs.items():
        if not r:
            if k.startswith("ours-bf16-bridge-"):
                continue  # optional variants
            print(f"{c} {k}: no result")
            continue
        mfu = r["tokens_per_second"] * flops_per_token(model, r["seq_len"]) / PEAK_BF16
        print(f"{c} {k}: {r['tokens_per_second']:.0f} tokens/s, MFU {mfu:.1%}, peak {r['peak_memory_bytes'] / 1e9:.1f} GB, "
              f"median step {r['step_seconds_median'] * 1e3:.0f} ms")

    def ratio(a, b, goal):
        if runs[a] and runs[b]:
            x = runs[a]["tokens_per_second"] / runs[b]["tokens_per_second"]
            print(f"{c} {a} / {b} = {x:.2f}x (goal {goal}x: {'met' if x >= goal else 'not met'})")

    ratio("ours-bf16", "ref-eager", 1.2)
    ratio("ours-bf16", "ref-compiled", 1.0)
    ratio("ours-bf16-bridge", "ref-eager", 1.2)
    ratio("ours-bf16-bridge", "ref-compiled", 1.0)
    ratio("ours-bf16-bridge", "ours-bf16", 1.0)
    ratio("ours-fp8", "ours-bf16", 1.3)

for who in ("ours-bf16", "ref-eager"):
    for c in ("moe-1b", "moe-2b"):
        try:
            long = json.load(open(os.path.join(root, f"{c}-{who}.syncs.json")))
            short = json.load(open(os.path.join(root, f"{c}-{who}-short.syncs.json")))
        except (OSError, ValueError):
            continue
        per = {k: (long[k] - short[k]) / 4 for k in long}
        if not any(long.values()):
            print(f"host syncs {c} {who}: the counter saw no call at all (its interposition missed libtorch): no figure")
            continue
        print(f"host syncs per step {c} {who}: {per} (7-step run {long}, 3-step run {short})")
