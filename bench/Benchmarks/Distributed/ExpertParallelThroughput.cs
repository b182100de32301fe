using System.Diagnostics;
using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Distributed;

/// <summary>
/// The cost of the expert-parallel data plane in one process: the tiny config on one global batch,
/// trained by one trainer and by EP ranks (threads) over each transport — shared memory and the
/// mailbox messages the cluster uses between silos (there: grain calls) — rounds interleaved.
/// Reports global tokens/s of each and the ratio to the single process.
/// </summary>
internal static class ExpertParallelThroughput
{
    public const string Command = "ep-throughput";

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var ep = options.Int("--ep", 4);
        var steps = options.Int("--steps", 8);
        var rounds = options.Int("--rounds", 2);
        var started = DateTime.UtcNow;
        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(options.String("--config", BenchWorkspace.TinyConfigPath));
        training = training with { Threads = 1 };
        set_num_threads(1);
        using var data = DemoDataset.Create();
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var global = training.MicroBatchSize;
        if (global % ep != 0) throw new ArgumentException($"--ep {ep} must divide the global batch of {global} sequences");

        var seconds = new Dictionary<string, List<double>> { ["single"] = [], ["in-process"] = [], ["mailbox"] = [] };
        for (var round = 0; round < rounds; round++)
        {
            seconds["single"].Add(Time(() =>
            {
                using var trainer = new Trainer(model, training, new DatasetBatchSource(data.Dataset, training.Seed, window, global, 1), steps);
                for (var s = 0; s < steps; s++) trainer.TrainStep();
            }));
            foreach (var transport in new[] { "in-process", "mailbox" })
                seconds[transport].Add(Time(() => RunRanks(transport, ep, model, training with { MicroBatchSize = global / ep }, data.Dataset, window, steps)));
        }

        var tokens = (double)steps * global * training.SequenceLength;
        var best = seconds.ToDictionary(kv => kv.Key, kv => tokens / kv.Value.Min());
        var document = new
        {
            Benchmark = Command,
            Machine = MachineInfo.Current(),
            Command = $"dotnet run -c Release --project bench/Benchmarks -- {Command} " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Ep = ep,
            Steps = steps,
            GlobalBatchTokens = global * training.SequenceLength,
            TokensPerSecondBestRound = best,
            RatioToSingle = best.ToDictionary(kv => kv.Key, kv => kv.Value / best["single"]),
            SecondsPerRound = seconds,
        };
        var path = BenchWorkspace.WriteResult(options.String("--name", $"ep{ep}-throughput"), started, BenchJson.Serialize(document));
        foreach (var (name, value) in best) Console.WriteLine($"{name,-11} {value,8:F0} tokens/s  ({value / best["single"]:F2}× single)");
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    private static void RunRanks(string transport, int ep, Kernels.Configuration.ModelConfig model, Kernels.Configuration.TrainingConfig training,
        TokenDataset dataset, int window, int steps)
    {
        using var group = new InProcessGroup(ep);
        var mailboxes = Enumerable.Range(0, ep).Select(_ => new RankMailbox()).ToArray();
        ICollective Collective(int rank) => transport == "in-process"
            ? group.Collective(rank)
            : new MailboxCollective(rank, ep, mailboxes[rank], (to, m) => { mailboxes[to].Deliver(m); return Task.CompletedTask; }, TimeSpan.FromMinutes(2));
        var ranks = Enumerable.Range(0, ep).Select(rank => Task.Factory.StartNew(() =>
        {
            var parallel = new ExpertParallelism(Collective(rank), ExpertPlacement.Create(model.RoutedExperts, ep));
            using var trainer = new Trainer(model, training, new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, 1, rank, ep), steps, parallel);
            for (var s = 0; s < steps; s++) trainer.TrainStep();
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(ranks);
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
