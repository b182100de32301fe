using System.Diagnostics;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;
using Orchestrator.Kernels.Training.Rl;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Rl;

/// <summary>
/// <c>r1-recipe</c>: the R1 recipe on the arithmetic task in one process, seeded: cold-start SFT of the tiny config
/// (from its initial weights) on R1-format worked answers, greedy accuracy and format on a held-out set, then GRPO
/// from the SFT model (the frozen reference its copy; R1's rewards: accuracy + format), the held-out set again.
/// Records both accuracies, the reward curve, and the time of each phase.
/// </summary>
internal static class R1RecipeBench
{
    public const string Command = "r1-recipe";

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var (sftSteps, grpoSteps, testCount) = (options.Int("--sft-steps", 600), options.Int("--grpo-steps", 60), options.Int("--test", 500));
        var seed = (ulong)options.Int("--seed", 7);
        var started = DateTime.UtcNow;
        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(options.String("--config", BenchWorkspace.TinyConfigPath));
        training = training with { Threads = options.Int("--threads", 1), SequenceLength = options.Int("--seq", 255) };
        set_num_threads(training.Threads);
        var tokenizer = new ByteTokenizer();
        var (train, test) = new ArithmeticTask().Splits(seed, options.Int("--train", 4000), testCount);

        // Cold-start SFT: prompt in the R1 chat form, the worked answer, end of text; loss on the response only.
        var examples = train.Select(p => Example(tokenizer, p)).ToArray();
        var packing = new SftPacking(examples, training.SequenceLength + 1, seed, tokenizer.EndOfText); // rows of seq_len + 1, as the sft job packs
        var sft = new SftObjective(new PackedSftSource(packing, seed, training.MicroBatchSize, training.GradientAccumulation, vocabSize: tokenizer.VocabSize));
        using var trainer = new Trainer(model, training, sft, sftSteps);
        var clock = Stopwatch.StartNew();
        var sftLosses = new List<double>();
        while (trainer.Step < sftSteps) sftLosses.Add(trainer.TrainStep().MainLoss);
        var sftSeconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"sft: {sftSteps} steps in {sftSeconds:F0} s, loss {sftLosses[0]:F3} → {sftLosses[^1]:F3}");
        var before = Evaluate(trainer.Model, tokenizer, test);
        Console.Error.WriteLine($"sft model: accuracy {before.Accuracy:P1}, format {before.Format:P1} on {test.Count} held-out problems");

        // GRPO from the SFT model; the reference is a frozen copy of it.
        using var reference = new DeepSeekModel(model, training.Seed);
        using (no_grad())
            foreach (var ((_, to), (_, from)) in ModelState.Tensors(reference).Zip(ModelState.Tensors(trainer.Model))) to.copy_(from);
        var grpoOptions = new GrpoOptions
        {
            GroupSize = options.Int("--group", 8), PromptsPerStep = options.Int("--prompts", 8), MaxNewTokens = 64, Temperature = 1.0,
            Stop = [R1Format.AnswerClose], LearningRate = double.Parse(options.String("--lr", "1e-4"), System.Globalization.CultureInfo.InvariantCulture), Seed = seed,
        };
        using var grpo = new GrpoTrainer(trainer.Model, reference, tokenizer, train.Select(p => R1Format.Prompt(p.Question)).ToArray(),
            (i, text) => new RolloutReward(R1Rewards.Accuracy(text, train[i].Answer), R1Rewards.Format(text)), training, grpoOptions);
        clock.Restart();
        var curve = new List<GrpoStepReport>();
        while (grpo.Step < grpoSteps)
        {
            var step = grpo.TrainStep();
            curve.Add(step);
            if (step.Step % 10 == 0) Console.Error.WriteLine($"grpo step {step.Step}: accuracy {step.Accuracy:F3} format {step.Format:F3} kl {step.Kl:F4} clip {step.ClipFraction:F3}");
        }
        var grpoSeconds = clock.Elapsed.TotalSeconds;
        var after = Evaluate(trainer.Model, tokenizer, test);
        Console.Error.WriteLine($"grpo model: accuracy {after.Accuracy:P1}, format {after.Format:P1}");

        var result = new
        {
            bench = Command, started, machine = MachineInfo.Current(), sft_steps = sftSteps, grpo_steps = grpoSteps, test = test.Count, seed,
            group_size = grpoOptions.GroupSize, prompts_per_step = grpoOptions.PromptsPerStep, lr = grpoOptions.LearningRate,
            sft = new { seconds = sftSeconds, loss_first = sftLosses[0], loss_last = sftLosses[^1], accuracy = before.Accuracy, format = before.Format },
            grpo = new
            {
                seconds = grpoSeconds, accuracy = after.Accuracy, format = after.Format,
                curve = curve.Select(s => new { step = s.Step, accuracy = s.Accuracy, format = s.Format, kl = s.Kl, clip = s.ClipFraction, tokens = s.CompletionTokens }),
            },
        };
        var json = BenchJson.Serialize(result);
        Console.WriteLine(json);
        if (options.String("--out", "") is { Length: > 0 } path) File.WriteAllText(path, json);
        return 0;
    }

    private static SftExample Example(ITextTokenizer tokenizer, ArithmeticProblem problem)
    {
        var prompt = tokenizer.Encode(R1Format.Prompt(problem.Question));
        var response = tokenizer.Encode(problem.Response);
        return new SftExample([.. prompt, .. response, tokenizer.EndOfText], prompt.Length);
    }

    /// <summary>Greedy completions of the held-out prompts: mean accuracy and format (the stop text put back, as sampled).</summary>
    private static (double Accuracy, double Format) Evaluate(DeepSeekModel model, ITextTokenizer tokenizer, IReadOnlyList<ArithmeticProblem> problems)
    {
        using var generator = new TextGenerator(model, tokenizer);
        double accuracy = 0, format = 0;
        foreach (var batch in problems.Chunk(50))
        {
            var result = generator.Generate(batch.Select(p => R1Format.Prompt(p.Question)).ToArray(),
                new GenerationOptions { MaxNewTokens = 64, Stop = [R1Format.AnswerClose] });
            foreach (var (problem, completion) in batch.Zip(result.Completions))
            {
                var text = completion.Finish == FinishReason.Stop ? completion.Text + R1Format.AnswerClose : completion.Text ?? "";
                accuracy += R1Rewards.Accuracy(text, problem.Answer);
                format += R1Rewards.Format(text);
            }
        }
        return (accuracy / problems.Count, format / problems.Count);
    }
}
