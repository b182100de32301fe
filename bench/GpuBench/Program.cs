using Orchestrator.GpuBench;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Native;

// GPU checks and figures, run on a GPU node by bench/gpu/run.sh (never in CI). libtorch comes from
// ORCHESTRATOR_LIBTORCH (a PyTorch install's torch/lib), the kernels from ORCHESTRATOR_CUDA_KERNELS.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: orchestrator-gpu-bench fp8|train|nccl|native|pipeline [options]  (see bench/gpu/run.sh)");
    return 2;
}

LibTorchRuntime.Initialize();
// Pipeline schedules run on CPU threads: no CUDA needed.
if (args[0] == "pipeline") return PipelineBench.Run(BenchOptions.Parse(args[1..]));
if (!LibTorchRuntime.CudaAvailable)
{
    Console.Error.WriteLine($"no CUDA through libtorch from {LibTorchRuntime.Source}");
    return 3;
}
if (!CudaKernels.TryLoad())
{
    Console.Error.WriteLine($"CUDA kernel library {CudaKernels.Status}");
    return 3;
}

// The native bridge to ATen when ORCHESTRATOR_ATEN_BRIDGE names it; without it every path is plain TorchSharp.
AtenBridge.TryLoad();
Console.WriteLine($"ATen bridge {AtenBridge.Status}");

var options = BenchOptions.Parse(args[1..]);
return args[0] switch
{
    "fp8" => Fp8Bench.Run(options),
    "train" => TrainBench.Run(options),
    "nccl" => NcclBench.Run(options),
    "native" => NativeBridgeCheck.Run(options),
    _ => throw new ArgumentException($"unknown mode '{args[0]}'"),
};
