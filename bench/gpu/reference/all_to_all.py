"""P4 reference: torch.distributed all_to_all_single over NCCL on the same GPUs, same sizes as NcclBench.

torchrun-free: python3 all_to_all.py OUT.json spawns one process per GPU.
"""
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def run(rank, world, out):
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world, device_id=torch.device("cuda", rank))
    hidden, rows = 7168, []
    for megabytes in (8, 64, 256, 1024):
        per_peer = megabytes * (1 << 20) // (hidden * 2) // world
        x = torch.randn(per_peer * world, hidden, device="cuda").to(torch.bfloat16)
        y = torch.empty_like(x)
        for _ in range(5):
            dist.all_to_all_single(y, x)
        torch.cuda.synchronize()
        times = []
        for _ in range(20):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            dist.all_to_all_single(y, x)
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
        ms = sorted(times)[10]
        nbytes = x.numel() * 2
        alg = nbytes / (ms * 1e-3) / 1e9
        rows.append({"bytes_per_rank": nbytes, "ms": ms, "algbw_gb_per_s": alg, "busbw_gb_per_s": alg * (world - 1) / world})
        print(f"P4 torch rank {rank}: all-to-all {nbytes / 1e6:.0f} MB per rank in {ms:.3f} ms: {alg:.0f} GB/s algorithm", flush=True)
    if rank == 0:
        json.dump({"implementation": f"torch.distributed {torch.__version__}", "p4_all_to_all": rows}, open(out, "w"), indent=2)
    dist.destroy_process_group()


if __name__ == "__main__":
    world = torch.cuda.device_count()
    mp.spawn(run, args=(world, sys.argv[1]), nprocs=world)
