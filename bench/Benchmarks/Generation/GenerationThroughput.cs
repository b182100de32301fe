using System.Diagnostics;
using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Generation;

/// <summary>
/// <c>generation</c>: trains the tiny config (MTP depth 1) on the demo corpus, then measures greedy decoding of the
/// same prompts three ways in one process — full recomputation (no cache), the MLA latent cache, and MTP speculative
/// decoding over the cache — interleaved round by round, at batch 1 and batch 8; checks that the three give the same
/// tokens and records tokens/s, the speed-ups and the MTP acceptance rate.
/// </summary>
internal static class GenerationThroughput
{
    public const string Command = "generation";

    private static readonly string[] Prompts =
    [
        "the hungry cat eats ", "three plus four is ", "a small robin lives in the ", "the old trout eats ",
        "five plus five is ", "the quiet owl ", "every morning the young wolf ", "seven plus two is ",
    ];

    private static readonly string[] Modes = ["no cache", "latent cache", "speculative"];

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var trainSteps = options.Int("--train-steps", 200);
        var maxTokens = options.Int("--max-tokens", 48);
        var rounds = options.Int("--rounds", 3);
        var started = DateTime.UtcNow;

        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(options.String("--config", BenchWorkspace.TinyConfigPath));
        training = training with { Threads = options.Int("--threads", 1) };
        set_num_threads(training.Threads);
        using var data = DemoDataset.Create();
        var window = training.SequenceLength + 1 + model.MtpDepth;
        using var trainer = new Trainer(model, training, new DatasetBatchSource(data.Dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation), trainSteps);
        var clock = Stopwatch.StartNew();
        StepReport? last = null;
        while (trainer.Step < trainSteps) last = trainer.TrainStep();
        Console.Error.WriteLine($"trained {trainSteps} steps in {clock.Elapsed.TotalSeconds:F0} s, loss {last?.Loss:F3}");

        using var generator = new TextGenerator(trainer.Model, new ByteTokenizer());
        var batches = new[] { Prompts[..1], Prompts };
        var cases = new List<object>();
        foreach (var batch in batches)
        {
            var samples = Modes.Select(_ => new List<double>()).ToArray();
            GenerationResult[] results = [];
            for (var round = 0; round <= rounds; round++) // round 0 warms up
            {
                results = Modes.Select(mode => generator.Generate(batch, Options(mode, maxTokens))).ToArray();
                if (round > 0) for (var m = 0; m < Modes.Length; m++) samples[m].Add(results[m].TokensPerSecond);
                Console.Error.Write(round == 0 ? "w" : ".");
            }
            Console.Error.WriteLine();
            var tokens = results.Select(r => r.Completions.Select(c => string.Join(',', c.Tokens)).ToArray()).ToArray();
            var same = tokens.All(t => t.SequenceEqual(tokens[0]));
            var stats = samples.Select(Stats.Of).ToArray();
            var speculative = results[2];
            cases.Add(new
            {
                Batch = batch.Length,
                NewTokens = results[1].NewTokens,
                TokensPerSecond = Modes.Select((m, i) => new { Mode = m, Stats = stats[i] }).ToArray(),
                CacheSpeedUp = stats[1].Median / stats[0].Median,
                SpeculativeSpeedUpOverCache = stats[2].Median / stats[1].Median,
                MainPasses = results.Select(r => r.MainPasses).ToArray(),
                speculative.Drafted,
                speculative.Accepted,
                speculative.AcceptanceRate,
                SameTokensAllModes = same,
                Sample = $"{batch[0]}{results[1].Completions[0].Text}",
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch.Length}: no cache {stats[0].Median:F1} tok/s, latent cache {stats[1].Median:F1} ({stats[1].Median / stats[0].Median:F2}×), speculative {stats[2].Median:F1} ({stats[2].Median / stats[1].Median:F2}× the cache), acceptance {speculative.Accepted}/{speculative.Drafted} = {speculative.AcceptanceRate:P1}, same tokens: {same}"));
            Console.WriteLine($"  sample: {batch[0]}{results[1].Completions[0].Text}");
        }

        var document = new
        {
            Benchmark = Command,
            Machine = MachineInfo.Current(),
            Command = "dotnet run -c Release --project bench/Benchmarks -- generation " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            LibtorchThreads = get_num_threads(),
            Config = "deploy/configs/tiny.json",
            TrainSteps = trainSteps,
            FinalLoss = last?.Loss,
            MaxNewTokens = maxTokens,
            MeasuredRounds = rounds,
            Schedule = "one warm-up round, then rounds of (no cache, latent cache, speculative), greedy, same prompts",
            Cases = cases,
        };
        var path = BenchWorkspace.WriteResult(Command, started, BenchJson.Serialize(document));
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    private static GenerationOptions Options(string mode, int maxTokens) => new()
    {
        MaxNewTokens = maxTokens,
        UseCache = mode != "no cache",
        Speculative = mode == "speculative",
    };
}
