using System.Globalization;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Training;

/// <summary>
/// Auxiliary-loss-free balancing, measured: the tiny config trained from one seed on one data
/// order with the bias update off (γ = 0) and on (each γ of <c>--gammas</c>), the sequence-wise
/// balance loss left at the config's α in every run, so the bias update is the only difference.
/// </summary>
internal static class MaxVioExperiment
{
    /// <summary>The project's goal for the global MaxVio with the bias update on.</summary>
    private const double Goal = 0.05;

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var steps = options.Int("--steps", 300);
        var window = options.Int("--window", 50);
        var every = options.Int("--every", 10);
        var gammas = options.List("--gammas", ["0.001", "0.01"]).Select(GammaSchedule.Parse).ToArray();
        // A follow-up probe may skip the γ = 0 baseline and write beside the main result instead of over it.
        var withBaseline = !options.Flag("--no-baseline");
        var stem = options.String("--name", "maxvio");
        var configPath = options.String("--config", BenchWorkspace.TinyConfigPath);
        var started = DateTime.UtcNow;

        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(configPath);
        // On a shared 2-core VM two OpenMP threads can spin at barriers while the other core is taken; --threads 1 avoids that.
        training = training with { Threads = options.Int("--threads", training.Threads) };
        set_num_threads(training.Threads); // process-wide, so the harness sets it (the trainer does not)
        using var data = DemoDataset.Create();

        var runs = new List<MaxVioRun>();
        if (withBaseline) runs.Add(MaxVioRun.Train("bias-off", model, training, data.Dataset, new GammaSchedule(0, 0, 0), steps, window, every));
        foreach (var gamma in gammas)
            runs.Add(MaxVioRun.Train($"bias-on-{gamma}", model, training, data.Dataset, gamma, steps, window, every));

        var document = new
        {
            Benchmark = "maxvio-experiment",
            Machine = MachineInfo.Current(),
            Command = "dotnet run -c Release --project bench/Benchmarks -- maxvio-experiment " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            LibtorchThreads = get_num_threads(),
            Config = Path.GetRelativePath(BenchWorkspace.Root, configPath),
            training.Seed,
            model.BalanceLossAlpha,
            model.RoutedExperts,
            model.ActivatedExperts,
            MoeLayersIncludingMtp = model.MoeLayers + model.MtpDepth,
            Definitions = new
            {
                BatchMaxVio = "max over MoE layers (MTP's included) of max_i load_i/mean(load) - 1, loads of one step",
                GlobalMaxVio = $"per MoE layer, loads summed over the last {window} steps, MaxVio of the sums, then max over layers",
                SeriesEvery = every,
            },
            Goal = new { GlobalMaxVioAtMost = Goal },
            Runs = runs,
        };
        var path = BenchWorkspace.WriteResult(stem, started, BenchJson.Serialize(document));

        Console.WriteLine($"{"run",-16} {"gamma",14} {"global MaxVio",14} {"batch MaxVio",13} {"main loss",10}   (last {window} of {steps} steps)");
        foreach (var r in runs)
            Console.WriteLine($"{r.Name,-16} {r.Gamma,14} {r.FinalGlobalMaxVio,14:F4} {r.MeanBatchMaxVioLast,13:F4} {r.MeanMainLossLast,10:F4}{(r.Gamma != "0" && r.FinalGlobalMaxVio <= Goal ? "   meets goal" : "")}");
        Console.WriteLine($"wrote {path}");
        return 0;
    }
}
