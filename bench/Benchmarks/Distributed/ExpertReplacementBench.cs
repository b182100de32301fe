using System.Collections.Concurrent;
using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Distributed;

/// <summary>
/// Live expert re-placement on a skewed workload (issue 14): EP ranks (threads, shared memory) of the tiny config whose
/// router starts with a Zipf-like skew in its expert biases (<see cref="SimulatedRouting.Popularity"/> turned into biases),
/// bias balancing off and on. Each run trains some steps on the formula placement, re-places once from those steps'
/// loads (<see cref="ExpertRebalancer"/>, the redundant slots given to the hottest experts; every rank computes the same
/// map) through <see cref="Trainer.MoveExperts"/>, then trains as many steps more. Reports the rank-load imbalance (max
/// rank tokens / mean, worst layer) and the step time of each phase, and the move's seconds and bytes.
/// </summary>
internal static class ExpertReplacementBench
{
    public const string Command = "eplb";

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var ep = options.Int("--ep", 16);
        var steps = options.Int("--steps", 4);
        var redundant = options.Int("--redundant", 16);
        var skew = double.Parse(options.String("--skew", "1.2"), CultureInfo.InvariantCulture);
        var started = DateTime.UtcNow;
        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(options.String("--config", BenchWorkspace.TinyConfigPath));
        training = training with { Threads = 1, MicroBatchSize = 1 };
        set_num_threads(1);
        using var data = DemoDataset.Create();

        var runs = new Dictionary<string, object>();
        foreach (var (name, speed) in new[] { ("bias-off", 0.0), ("bias-on", training.BiasUpdateSpeed) })
        {
            var result = RunOnce(model, training with { BiasUpdateSpeed = speed }, data.Dataset, ep, steps, redundant, skew);
            runs[name] = result;
            Console.WriteLine($"{name}: imbalance {result.ImbalanceBefore:F3} → {result.ImbalanceAfter:F3}, step {result.StepSecondsBefore:F3} s → {result.StepSecondsAfter:F3} s, "
                + $"move {result.MoveSeconds:F3} s, {result.MoveBytes / 1048576.0:F1} MiB ({result.MoveCopies} copies; {result.CopiesWithoutRelabelling} without relabelling)");
        }

        var document = new
        {
            Benchmark = Command,
            Machine = MachineInfo.Current(),
            Command = $"dotnet run -c Release --project bench/Benchmarks -- {Command} " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Ep = ep,
            StepsPerPhase = steps,
            Redundant = redundant,
            Skew = skew,
            GlobalBatchTokens = ep * training.SequenceLength,
            Runs = runs,
        };
        var path = BenchWorkspace.WriteResult(options.String("--name", "eplb"), started, BenchJson.Serialize(document));
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    /// <summary>One run's figures (imbalance: mean over the phase's steps of the worst layer's max/mean rank load; step: median of the slowest rank).</summary>
    internal sealed record Result(double ImbalanceBefore, double ImbalanceAfter, double StepSecondsBefore, double StepSecondsAfter,
        double MoveSeconds, long MoveBytes, int MoveCopies, int CopiesWithoutRelabelling, IReadOnlyList<double> Imbalances, IReadOnlyList<double> StepSeconds);

    private static Result RunOnce(ModelConfig model, TrainingConfig training, TokenDataset dataset, int ep, int steps, int redundant, double skew)
    {
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var layers = model.MoeLayers + model.MtpDepth;
        var group = new InProcessGroup(ep);
        var seconds = new ConcurrentDictionary<(int Step, int Rank), double>();
        var loads = new long[2 * steps][][];
        var maps = new ExpertMap[2 * steps];
        var moves = new ExpertMoveReport[ep];
        var unrelabelled = 0;
        var ranks = Enumerable.Range(0, ep).Select(rank => Task.Factory.StartNew(() =>
        {
            var parallel = new ExpertParallelism(group.Collective(rank), ExpertPlacement.Create(model.RoutedExperts, ep));
            using var trainer = new Trainer(model, training, new DatasetBatchSource(dataset, training.Seed, window, 1, 1, rank, ep), 2 * steps, parallel);
            Skew(trainer, skew);
            var window0 = new List<long[][]>();
            for (var step = 0; step < 2 * steps; step++)
            {
                if (step == steps)
                {
                    // Every rank decides alike from the same global loads, then all move at this step boundary.
                    var summed = Enumerable.Range(0, layers).Select(l => Enumerable.Range(0, model.RoutedExperts)
                        .Select(e => (double)window0.Sum(w => w[l][e])).ToArray()).ToArray();
                    var placed = ExpertMap.From(ExpertRebalancer.Rebalance(summed, model.RoutedExperts + redundant, model.ExpertGroups, 1, ep), model.RoutedExperts, ep, 1);
                    // As the live schedule does: packs renumbered to keep the most copies in place.
                    var kept = ExpertRelabel.Keeping(placed, trainer.ExpertMap!, 1);
                    if (rank == 0) unrelabelled = ExpertRelabel.Copies(trainer.ExpertMap!, placed);
                    moves[rank] = trainer.MoveExperts(kept);
                }
                var map = trainer.ExpertMap!;
                var report = trainer.TrainStep();
                seconds[(step, rank)] = report.Seconds;
                if (rank == 0)
                {
                    loads[step] = [.. report.Loads];
                    maps[step] = map;
                }
                if (step < steps) window0.Add([.. report.Loads]);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(ranks);

        var imbalances = Enumerable.Range(0, 2 * steps).Select(s => ExpertReplacementSchedule.Imbalance(maps[s], loads[s])).ToArray();
        var stepSeconds = Enumerable.Range(0, 2 * steps).Select(s => Enumerable.Range(0, ep).Max(r => seconds[(s, r)])).ToArray();
        // The first step of each phase warms up (the first step of a run, the first on the new map): left out of the medians.
        return new Result(imbalances.Take(steps).Average(), imbalances.Skip(steps).Average(),
            Median(stepSeconds.Skip(1).Take(steps - 1)), Median(stepSeconds.Skip(steps + 1)),
            moves.Max(m => m.Seconds), moves[0].TotalBytes, moves[0].TotalCopies, unrelabelled, imbalances, stepSeconds);
    }

    /// <summary>Biases that make the router favour a few experts: b = 0.02·ln(E·p) of a Zipf-like popularity p, per layer.</summary>
    private static void Skew(Trainer trainer, double skew)
    {
        using var noGrad = no_grad();
        var layers = trainer.Model.MoeLayers;
        for (var l = 0; l < layers.Count; l++)
        {
            var experts = (int)layers[l].ExpertBias.shape[0];
            var popularity = SimulatedRouting.Popularity(7, l, experts, skew);
            var bias = popularity.Select(p => (float)(SimulatedRouting.BiasTemperature * Math.Log(experts * p))).ToArray();
            using var values = tensor(bias, device: layers[l].ExpertBias.device);
            layers[l].ExpertBias.copy_(values);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
