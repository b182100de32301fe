using System.Diagnostics;
using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Generation;

/// <summary>
/// <c>generation</c>: trains the tiny config (MTP depth 1) on the demo corpus, then measures greedy decoding of the
/// same prompts three ways in one process — full recomputation (no cache), the MLA latent cache, and MTP speculative
/// decoding over the cache — interleaved round by round, at batch 1 and batch 8; checks that the three give the same
/// tokens and records tokens/s, the speed-ups and the MTP acceptance rate. With <c>--checkpoint DIR</c> it measures that
/// checkpoint's model instead (no training), on arithmetic prompts in the R1 chat form (<c>--digits</c>, as <c>r1-recipe</c>).
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
        set_num_threads(options.Int("--threads", 1));
        var checkpoint = options.String("--checkpoint", "");
        var (model, owner, finalLoss, configName, prompts) = checkpoint.Length > 0
            ? FromCheckpoint(checkpoint, options)
            : Train(options.String("--config", BenchWorkspace.TinyConfigPath), trainSteps, options.Int("--threads", 1));
        using var held = owner;

        using var generator = new TextGenerator(model, new ByteTokenizer());
        var batches = new[] { prompts[..1], prompts };
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

        var passes = PassTiming.Measure(generator.Decoder, options.Int("--pass-rounds", 30));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one pass at batch 1 (median ms): main 1 token {passes.MainOneTokenMs.Median:F2}, main 2 tokens {passes.MainTwoTokensMs.Median:F2}, MTP 2 tokens {passes.MtpTwoTokensMs.Median:F2}"));

        var document = new
        {
            Benchmark = Command,
            Machine = MachineInfo.Current(),
            Command = "dotnet run -c Release --project bench/Benchmarks -- generation " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            LibtorchThreads = get_num_threads(),
            Config = configName,
            Checkpoint = checkpoint.Length > 0 ? checkpoint : null,
            TrainSteps = checkpoint.Length > 0 ? 0 : trainSteps,
            FinalLoss = finalLoss,
            MaxNewTokens = maxTokens,
            MeasuredRounds = rounds,
            Schedule = "one warm-up round, then rounds of (no cache, latent cache, speculative), greedy, same prompts",
            Cases = cases,
            PassesAtBatch1 = passes,
        };
        var path = options.String("--out", "");
        if (path.Length > 0) File.WriteAllText(path, BenchJson.Serialize(document) + "\n");
        else path = BenchWorkspace.WriteResult(Command, started, BenchJson.Serialize(document));
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    /// <summary>Trains the config on the demo corpus for <paramref name="steps"/> steps; the model, its last loss, the config's name and the demo prompts.</summary>
    private static (DeepSeekModel Model, IDisposable Owner, double? Loss, string Config, string[] Prompts) Train(string configPath, int steps, int threads)
    {
        var (model, training) = BenchWorkspace.LoadConfig(configPath);
        training = training with { Threads = threads };
        using var data = DemoDataset.Create();
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var trainer = new Trainer(model, training, new DatasetBatchSource(data.Dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation), steps);
        var clock = Stopwatch.StartNew();
        StepReport? last = null;
        while (trainer.Step < steps) last = trainer.TrainStep();
        Console.Error.WriteLine($"trained {steps} steps in {clock.Elapsed.TotalSeconds:F0} s, loss {last?.Loss:F3}");
        return (trainer.Model, trainer, last?.Loss, Path.GetRelativePath(BenchWorkspace.Root, configPath), Prompts);
    }

    /// <summary>The checkpoint's model and eight held-out arithmetic prompts (seed and digits as <c>r1-recipe</c>'s defaults).</summary>
    private static (DeepSeekModel Model, IDisposable Owner, double? Loss, string Config, string[] Prompts) FromCheckpoint(string path, BenchArgs options)
    {
        var folder = CheckpointModel.Resolve(path);
        var digits = options.List("--digits", ["1", "2"]).Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        var (_, test) = new ArithmeticTask(digits[0], digits[^1]).Splits((ulong)options.Int("--seed", 7), options.Int("--train", 4000), 8);
        var model = CheckpointModel.Load(folder);
        return (model, model, null, $"checkpoint {folder}", test.Select(p => R1Format.Prompt(p.Question)).ToArray());
    }

    private static GenerationOptions Options(string mode, int maxTokens) => new()
    {
        MaxNewTokens = maxTokens,
        UseCache = mode != "no cache",
        Speculative = mode == "speculative",
    };
}
