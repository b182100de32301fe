"""P2 reference: the same model step as `orchestrator-gpu-bench train` in eager PyTorch, same device, shapes and dtype.

python3 train_step.py CONFIG --batch B --seq S --warmup W --steps N [--grouped on|off|mm] [--best] [--compile on]
    --out result.json
Random tokens (as the C# run without --data); AdamW (torch's default foreach implementation, or the fused
one with --optimizer fused), global-norm clipping, the aux-loss-free bias update after each step. Peak memory is sampled the same way as the C#
run (driver's total - free every 10 ms) and also read from the caching allocator.
"""
import argparse
import json
import threading
import time

import torch

from model import DeepSeekModel, flops_per_token


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", required=True)
    ap.add_argument("--grouped", choices=["on", "off", "mm"], default="off",
                    help="routed experts as a per-expert loop (off), padded bmm (on) or torch._grouped_mm over device offsets (mm)")
    ap.add_argument("--optimizer", choices=["foreach", "fused"], default="foreach")
    ap.add_argument("--attention", choices=["fp32", "bf16"], default="fp32", help="SDPA in FP32 (as the C# model) or bf16")
    ap.add_argument("--best", action="store_true", help="the reference at its best: --grouped mm --optimizer fused --attention bf16")
    ap.add_argument("--compile", choices=["off", "on"], default="off", help="torch.compile on each block")
    args = ap.parse_args()
    if args.best:
        args.grouped, args.optimizer, args.attention = "mm", "fused", "bf16"
    run = json.load(open(args.config))
    c, tr = run["model"], run["training"]
    c = dict(c, grouped_experts=args.grouped, attention_bf16=args.attention == "bf16")
    device = torch.device("cuda:0")
    torch.manual_seed(tr["seed"])
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            free, total = torch.cuda.mem_get_info(device)
            peak[0] = max(peak[0], total - free)
            time.sleep(0.01)

    free, total = torch.cuda.mem_get_info(device)
    baseline = total - free
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with torch.device(device):
        model = DeepSeekModel(c, device)
    model.to(device)
    if args.compile == "on":
        # Every block compiled on its own (parameters are graph inputs, so the layers share one graph per kind).
        torch._dynamo.config.cache_size_limit = 64
        for block in list(model.layers) + [m.block for m in model.mtp]:
            block.compile()
    opt = torch.optim.AdamW([{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": tr["weight_decay"]},
                             {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}],
                            lr=tr["lr"], betas=(tr["beta1"], tr["beta2"]), eps=tr["eps"],
                            **({"fused": True} if args.optimizer == "fused" else {}))
    window = args.seq + 1 + c["mtp_depth"]
    vocab = min(c["vocab_size"], 50257)
    gen = torch.Generator(device="cpu").manual_seed(tr["seed"])
    losses, seconds = [], []
    for step in range(args.warmup + args.steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        windows = torch.randint(0, vocab, (args.batch, window), generator=gen).to(device)
        opt.zero_grad(set_to_none=True)
        total_loss, main = model.loss(windows)
        total_loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tr["grad_clip"])
        opt.step()
        with torch.no_grad():
            for moe in model.moe_layers():
                loads = moe.loads.float()
                moe.expert_bias.add_(torch.sign(loads.mean() - loads) * tr["bias_update_speed"])
        loss_value = total_loss.item()
        dt = time.perf_counter() - t0
        losses.append(loss_value)
        if step >= args.warmup:
            seconds.append(dt)
        if step < args.warmup or step == args.warmup + args.steps - 1:
            print(f"  step {step + 1}: loss {loss_value:.4f} {dt * 1e3:.0f} ms", flush=True)
    stop.set()
    sampler.join()
    tokens = args.batch * args.seq
    tps = tokens * len(seconds) / sum(seconds)
    params = sum(p.numel() for p in model.parameters())
    name = f"PyTorch {torch.__version__} {'compiled' if args.compile == 'on' else 'eager'}"
    result = {
        "implementation": name, "dtype": "bfloat16", "parameters": params,
        "grouped_experts": args.grouped != "off", "experts": args.grouped, "optimizer": args.optimizer,
        "attention": args.attention, "compiled": args.compile == "on",
        "micro_batch": args.batch, "seq_len": args.seq, "warmup_steps": args.warmup, "timed_steps": args.steps,
        "tokens_per_second": tps, "step_seconds_median": sorted(seconds)[len(seconds) // 2],
        "peak_memory_bytes": peak[0], "baseline_memory_bytes": baseline,
        "max_memory_allocated_bytes": torch.cuda.max_memory_allocated(device),
        "max_memory_reserved_bytes": torch.cuda.max_memory_reserved(device),
        "flops_per_token": flops_per_token(c, args.seq), "losses": losses,
    }
    json.dump(result, open(args.out, "w"), indent=2)
    print(f"P2 {name} bf16 (experts {args.grouped}, AdamW {args.optimizer}, attention {args.attention}): {tps:.0f} tokens/s, peak device memory {peak[0] / 1e9:.2f} GB (baseline {baseline / 1e9:.2f} GB)", flush=True)


if __name__ == "__main__":
    main()
