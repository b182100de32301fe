using System.Globalization;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Training;

/// <summary>
/// Tokens/s of a full training step (forward, backward, AdamW, bias update) for the tiny config and
/// a larger variant, each with and without MTP. The four trainers live side by side and step in
/// turn, so a burst of load from another process slows all four alike and the ratios stay fair.
/// </summary>
internal static class TrainThroughput
{
    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var measured = options.Int("--steps", 10);
        var warmup = options.Int("--warmup", 3);
        var configPath = options.String("--config", BenchWorkspace.TinyConfigPath);
        var started = DateTime.UtcNow;

        LibTorchRuntime.Initialize();
        var (tiny, training) = BenchWorkspace.LoadConfig(configPath);
        // On a shared 2-core VM two OpenMP threads can spin at barriers while the other core is taken; --threads 1 avoids that.
        training = training with { Threads = options.Int("--threads", training.Threads) };
        set_num_threads(training.Threads); // process-wide, so the harness sets it (the trainer does not)
        var cases = ThroughputCase.Standard(tiny);
        using var data = DemoDataset.Create();

        var trainers = cases.Select(c => NewTrainer(c.Model, training, data.Dataset, warmup + measured)).ToArray();
        try
        {
            var samples = cases.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < warmup + measured; round++)
            {
                for (var i = 0; i < trainers.Length; i++)
                {
                    var report = trainers[i].TrainStep();
                    if (round >= warmup) samples[i].Add(report.TokensPerSecond);
                }
                Console.Error.Write(round < warmup ? "w" : ".");
            }
            Console.Error.WriteLine();

            var results = cases.Select((c, i) => ThroughputResult.From(c, Stats.Of(samples[i]))).ToArray();
            var ratios = ThroughputRatios.From(results);
            var document = new
            {
                Benchmark = "train-throughput",
                Machine = MachineInfo.Current(),
                Command = "dotnet run -c Release --project bench/Benchmarks -- train-throughput " + string.Join(' ', args),
                DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                LibtorchThreads = get_num_threads(),
                Config = Path.GetRelativePath(BenchWorkspace.Root, configPath),
                training.SequenceLength,
                training.MicroBatchSize,
                training.GradientAccumulation,
                WarmupSteps = warmup,
                MeasuredStepsPerConfig = measured,
                Schedule = "round-robin over the configs, one step each per round",
                Configs = results,
                Ratios = ratios,
            };
            var path = BenchWorkspace.WriteResult("train-throughput", started, BenchJson.Serialize(document));
            Print(results, ratios, path);
            return 0;
        }
        finally
        {
            foreach (var t in trainers) t.Dispose();
        }
    }

    private static Trainer NewTrainer(ModelConfig model, TrainingConfig training, TokenDataset dataset, int steps)
    {
        // Same window arithmetic as Trainer.WindowLength: inputs, their targets, one more token per MTP depth.
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var source = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation);
        var trainer = new Trainer(model, training, source, steps);
        if (trainer.WindowLength != window)
            throw new InvalidOperationException($"window {window} does not match the trainer's {trainer.WindowLength}");
        return trainer;
    }

    private static void Print(IReadOnlyList<ThroughputResult> results, ThroughputRatios ratios, string path)
    {
        Console.WriteLine($"{"config",-16} {"params",12} {"median tok/s",13} {"min",9} {"max",9}");
        foreach (var r in results)
            Console.WriteLine($"{r.Name,-16} {r.Parameters.Total + r.Parameters.Mtp,12:N0} {r.TokensPerSecond.Median,13:F0} {r.TokensPerSecond.Min,9:F0} {r.TokensPerSecond.Max,9:F0}");
        Console.WriteLine($"MTP cost (tok/s without / with): tiny {ratios.MtpCostTiny:F3}, larger {ratios.MtpCostLarger:F3}");
        Console.WriteLine($"size cost (tok/s tiny / larger): no MTP {ratios.SizeCostNoMtp:F3}, MTP {ratios.SizeCostMtp:F3}");
        Console.WriteLine($"wrote {path}");
    }
}
