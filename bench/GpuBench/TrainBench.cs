using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// P2 and the FP8-vs-BF16 loss run: the project's Trainer on one GPU (model, AdamW, routing, MTP,
/// balance loss), timed per step, with the peak device memory sampled alongside.
/// </summary>
internal static class TrainBench
{
    public static int Run(BenchOptions options)
    {
        var run = ConfigLoader.LoadFile(options.Required("config"));
        var dtype = options.Text("dtype", run.Model!.GemmPrecision);
        var model = run.Model with { GemmPrecision = dtype, GroupedExperts = options.Text("grouped", run.Model.GroupedExperts ?? "auto") };
        var training = (run.Training ?? new TrainingConfig()) with
        {
            MicroBatchSize = options.Int("batch", run.Training?.MicroBatchSize ?? 8),
            SequenceLength = options.Int("seq", run.Training?.SequenceLength ?? 128),
            Seed = (ulong)options.Int("seed", (int)(run.Training?.Seed ?? 1234UL)),
        };
        // A time budget (the loss runs): stop after the step that passes it and record the steps run.
        var budget = options.Int("max-seconds", 0);
        var warmup = options.Int("warmup", 3);
        var steps = options.Int("steps", 10);
        var results = new Results(options.Required("out"));
        Fp8Gpu.Configure(Environment.GetEnvironmentVariable(Fp8Gpu.EnvironmentVariable));
        AtenBridge.Enabled = options.Text("bridge", "on") switch
        {
            "on" => true,
            "off" => false,
            var other => throw new ArgumentException($"--bridge: unknown value \"{other}\" (on, off)"),
        };
        set_num_threads(4);
        set_default_device(new Device(DeviceType.CUDA, 0));
        using var memory = new MemorySampler(0);
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var dataPath = options.Text("data", "");
        using var dataset = dataPath.Length > 0 ? TokenDataset.Open(dataPath) : null;
        IBatchSource data = dataset is not null
            ? new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation)
            : new RandomTokens(Math.Min(model.VocabSize, 50257), training.Seed);
        using var trainer = new Trainer(model, training, data, warmup + steps);
        var counts = ParameterCount.For(model);
        var backend = (dtype == "fp8" ? $"FP8 GEMMs: {(Fp8Gpu.Available ? "cuBLASLt block-scaled (CUDA kernels " + CudaKernels.Status + ")" : "emulation")}" : $"{dtype} GEMMs")
            + $"; routed experts {(model.GroupedExperts == "off" ? "per expert" : "grouped")}{(dtype == "fp8" && model.GroupedExperts != "off" && !Fp8Gpu.GroupedExperts ? " (FP8 products per expert: grouped=0)" : "")}";
        var bridge = AtenBridge.InUse ? $"ATen bridge in use ({AtenBridge.Operations}; AdamW {(trainer.Optimizer.UsesFusedKernel ? "fused" : "per parameter")})" : $"ATen bridge not in use ({(AtenBridge.IsLoaded ? "off" : AtenBridge.Status)})";
        backend += "; " + bridge;
        Results.Say($"train {dtype}: {counts.Total:N0} parameters ({counts.Activated:N0} activated), batch {training.MicroBatchSize}x{training.SequenceLength}; {backend}");
        var losses = new JsonArray();
        var seconds = new List<double>();
        var memoryAfterStep = new JsonArray();
        var wall = Stopwatch.StartNew();
        for (var s = 0; s < warmup + steps; s++)
        {
            if (budget > 0 && s > warmup && wall.Elapsed.TotalSeconds > budget)
            {
                Results.Say($"  stopped after {s} steps: the {budget} s budget is spent");
                break;
            }

            var clock = Stopwatch.StartNew();
            var report = trainer.TrainStep();
            clock.Stop();
            losses.Add(report.Loss);
            var used = CudaKernels.MemoryUsed();
            memoryAfterStep.Add(used);
            if (s >= warmup) seconds.Add(clock.Elapsed.TotalSeconds);
            if (s < warmup || (s - warmup) % Math.Max(1, steps / 10) == 0 || s == warmup + steps - 1)
                Results.Say($"  step {report.Step}: loss {report.Loss:F4} main {report.MainLoss:F4} {clock.Elapsed.TotalMilliseconds:F0} ms, device memory in use {used / 1e9:F1} GB");
        }
        var tokens = (double)training.MicroBatchSize * training.SequenceLength * training.GradientAccumulation;
        var tokensPerSecond = tokens * seconds.Count / seconds.Sum();
        var peak = memory.Peak;
        Results.Say($"P2 ours {dtype}: {tokensPerSecond:F0} tokens/s, peak device memory {peak / 1e9:F2} GB (baseline {memory.Baseline / 1e9:F2} GB)");
        results.Add("run", new JsonObject
        {
            ["implementation"] = "orchestrator (C#, TorchSharp)", ["dtype"] = dtype, ["backend"] = backend,
            ["grouped_experts"] = model.GroupedExperts != "off",
            ["aten_bridge"] = AtenBridge.InUse, ["aten_bridge_operations"] = AtenBridge.InUse ? AtenBridge.Operations.ToString() : "none",
            ["parameters"] = counts.Total, ["activated_parameters"] = counts.Activated,
            ["micro_batch"] = training.MicroBatchSize, ["seq_len"] = training.SequenceLength,
            ["warmup_steps"] = warmup, ["timed_steps"] = seconds.Count, ["seed"] = training.Seed, ["tokens_per_second"] = tokensPerSecond,
            ["step_seconds_median"] = seconds.Order().ElementAt(seconds.Count / 2),
            ["peak_memory_bytes"] = peak, ["baseline_memory_bytes"] = memory.Baseline, ["losses"] = losses, ["memory_after_step_bytes"] = memoryAfterStep,
        });
        return 0;
    }
}
