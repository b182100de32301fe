"""Prints the figures of one GPU run (bench/gpu/run.sh) from the JSON files in the folder given."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
from model import flops_per_token  # noqa: E402

root = sys.argv[1]
PEAK_BF16 = 989.4e12  # H100/H200 SXM dense bf16, the datasheet's figure; MFU is quoted against it


def load(name):
    path = os.path.join(root, name)
    return json.load(open(path)) if os.path.exists(path) else None


fp8 = load("fp8.json")
if fp8:
    checks = fp8.get("quantisation_bit_equality", [])
    print(f"quantisation bit-equal to the CPU codec: {sum(c['pass'] for c in checks)}/{len(checks)} cases")
    for g in fp8.get("gemm_accuracy", []):
        print(f"  {g['case']}: {g.get('relative_error', g.get('error'))}")
    print(f"layouts: {fp8.get('scale_layout_chosen')}; projection vs emulation: {fp8.get('projection_vs_emulation')}")
    for r in fp8.get("p1_gemm", []):
        print(f"P1 {r['m']}x{r['n']}x{r['k']}: bf16 {r['bf16_tflops']:.0f}  fp8 {r['fp8_tflops']:.0f} TFLOPS = {r['fp8_over_bf16']:.2f}x (goal 1.6x on 8192^3)")
    for r in fp8.get("p3_quantise", []):
        name = f"P3 {r['grouping']}{' T' if r['transposed'] else ''} {r['dtype']}"
        if "reciprocal_gb_per_s" in r:
            print(f"{name}: reciprocal {r['reciprocal_gb_per_s']:.0f} GB/s = {r['reciprocal_fraction_of_copy']:.0%} of copy, "
                  f"division {r['division_fraction_of_copy']:.0%}, through the API {r['api_fraction_of_copy']:.0%} (goal 85%)")
        else:
            print(f"{name}: {r['gb_per_s']:.0f} GB/s = {r['fraction_of_copy']:.0%} of copy (goal 85%)")

ours, torch_ref = load("nccl-rank0.json"), load("torch-all-to-all.json")
if ours:
    print(f"NCCL correctness: {ours.get('correctness')}; EP=2 training: {ours.get('ep2_training', {}).get('max_relative_loss_difference')}")
    if torch_ref:
        for a, b in zip(ours["p4_all_to_all"], torch_ref["p4_all_to_all"]):
            print(f"P4 {a['bytes_per_rank'] / 1e6:.0f} MB: ours {a['algbw_gb_per_s']:.0f} GB/s, torch {b['algbw_gb_per_s']:.0f} GB/s = {a['algbw_gb_per_s'] / b['algbw_gb_per_s']:.0%} (goal 90%)")

if fp8:
    g = fp8.get("grouped_fp8_vs_per_expert")
    if g:
        print(f"grouped FP8 experts vs per-expert FP8: {g}")
    for layer in fp8.get("grouped_layer", []):
        print(f"grouped experts layer: {layer}")

config = json.load(open(os.path.join(os.path.dirname(__file__), "../../deploy/configs/moe-1b.json")))["model"]
refs = {"PyTorch loop": load("p2-torch.json"), "PyTorch grouped": load("p2-torch-grouped.json")}
for name in ("p2-ours-bfloat16.json", "p2-ours-fp8.json", "p2-torch.json", "p2-torch-grouped.json"):
    r = load(name)
    if not r:
        continue
    r = r.get("run", r)
    mfu = r["tokens_per_second"] * flops_per_token(config, r["seq_len"]) / PEAK_BF16
    ratios = "".join(f", {r['tokens_per_second'] / ref['tokens_per_second']:.2f}x {label}" for label, ref in refs.items() if ref)
    experts = "grouped experts" if r.get("grouped_experts") else "per-expert loop"
    reserved = f", torch reserved {r['max_memory_reserved_bytes'] / 1e9:.2f} GB" if "max_memory_reserved_bytes" in r else ""
    print(f"P2 {r['implementation']} {r['dtype']} ({experts}): {r['tokens_per_second']:.0f} tokens/s{ratios}, MFU {mfu:.1%} of bf16 peak, "
          f"peak memory {r['peak_memory_bytes'] / 1e9:.2f} GB (baseline {r['baseline_memory_bytes'] / 1e9:.2f}){reserved}")

def tail_mean(run, n, tail):
    losses = run["run"]["losses"]
    return sum(losses[n - tail:n]) / tail


bf, f8, control = load("loss-bfloat16-seed1234.json"), load("loss-fp8-seed1234.json"), load("loss-bfloat16-seed4321.json")
if not (bf and f8):  # the first session's names
    bf, f8 = load("loss-bfloat16.json"), load("loss-fp8.json")
if bf and f8:
    runs = [r for r in (bf, f8, control) if r]
    n = min(len(r["run"]["losses"]) for r in runs)
    tail = max(1, n // 10)
    ma, mb = tail_mean(bf, n, tail), tail_mean(f8, n, tail)
    line = f"loss over the last {tail} of {n} steps: bf16 {ma:.4f}, fp8 {mb:.4f}: {abs(mb - ma) / ma:.2%} apart (goal < 0.25%)"
    if control:
        mc = tail_mean(control, n, tail)
        line += f"; control bf16 seed 4321 {mc:.4f}: {abs(mc - ma) / ma:.2%} from bf16 seed 1234"
    print(line)
