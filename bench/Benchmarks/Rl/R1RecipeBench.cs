using System.Diagnostics;
using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Configuration;
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
/// <c>r1-recipe</c>: the R1 recipe on the arithmetic task in one process, seeded. Pretraining of the config (from its
/// initial weights) on the task's text (main model and MTP), cold-start SFT on R1-format worked answers (loss on the
/// response only), greedy accuracy and format on a held-out set, GRPO from the SFT model (the frozen reference its copy;
/// R1's rewards: accuracy + format), the held-out set again; distillation of that model into a
/// smaller student (<see cref="R1Distillation"/>, <c>--teacher CKPT</c>: its own run). Records both accuracies, the reward curve, and the time of each
/// phase; <c>--checkpoint DIR</c> saves the GRPO model for <c>generation --checkpoint</c>.
/// </summary>
internal static class R1RecipeBench
{
    public const string Command = "r1-recipe";

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var (pretrainSteps, sftSteps, grpoSteps) = (options.Int("--pretrain-steps", 300), options.Int("--sft-steps", 300), options.Int("--grpo-steps", 40));
        var testCount = options.Int("--test", 500);
        var seed = (ulong)options.Int("--seed", 7);
        var digits = options.List("--digits", ["1", "2"]).Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        var started = DateTime.UtcNow;
        LibTorchRuntime.Initialize();
        var configPath = options.String("--config", BenchWorkspace.TinyConfigPath);
        var (model, training) = BenchWorkspace.LoadConfig(configPath);
        training = training with { Threads = options.Int("--threads", 1), SequenceLength = Math.Min(255, model.MaxSequenceLength - 1) };
        set_num_threads(training.Threads);
        var tokenizer = new ByteTokenizer();
        var task = new ArithmeticTask(digits[0], digits[^1], [.. options.List("--ops", ["+", "-", "*"]).Select(o => o.Length == 1 ? o[0] : throw new ArgumentException($"--ops takes +, - and * separated by commas (got '{o}')"))]);
        var (train, test) = task.Splits(seed, options.Int("--train", 4000), testCount);
        var examples = train.Select(p => Example(tokenizer, p)).ToArray();
        var maxNewTokens = examples.Max(e => e.Tokens.Length - e.PromptLength) + 8; // the longest worked answer, and room
        if (options.String("--teacher", "") is { Length: > 0 } teacherPath)
            return DistillFrom(teacherPath, options, args, started, training, tokenizer, train, test, maxNewTokens, seed);
        var clock = Stopwatch.StartNew();

        // Pretraining on the task's text: next token and MTP on whole examples (prompt and response alike).
        var pretrainTraining = training with { SequenceLength = training.SequenceLength - model.MtpDepth, LearningRate = Double(options, "--pretrain-lr", training.LearningRate) };
        var window = pretrainTraining.SequenceLength + 1 + model.MtpDepth;
        using var pretrainer = new Trainer(model, pretrainTraining,
            new TaskTextSource(examples.Select(e => e.Tokens).ToArray(), seed, training.MicroBatchSize, window, tokenizer.VocabSize), Math.Max(pretrainSteps, 1));
        var pretrainLosses = new List<(double Main, double Mtp)>();
        while (pretrainer.Step < pretrainSteps)
        {
            var report = pretrainer.TrainStep();
            pretrainLosses.Add((report.MainLoss, report.MtpLoss));
        }
        var pretrainSeconds = clock.Elapsed.TotalSeconds;
        if (pretrainSteps > 0) Console.Error.WriteLine($"pretrain: {pretrainSteps} steps in {pretrainSeconds:F0} s, loss {pretrainLosses[0].Main:F3} → {pretrainLosses[^1].Main:F3}, mtp {pretrainLosses[^1].Mtp:F3}");

        // Cold-start SFT from the pretrained weights: prompt in the R1 chat form, the worked answer, end of text.
        clock.Restart();
        var packing = new SftPacking(examples, training.SequenceLength + 1, seed, tokenizer.EndOfText); // rows of seq_len + 1, as the sft job packs
        var sft = new SftObjective(new PackedSftSource(packing, seed, training.MicroBatchSize, training.GradientAccumulation, vocabSize: tokenizer.VocabSize));
        var sftTraining = training with { LearningRate = Double(options, "--sft-lr", training.LearningRate) };
        using var trainer = new Trainer(model, sftTraining, sft, sftSteps);
        Copy(pretrainer.Model, trainer.Model);
        var sftLosses = new List<double>();
        while (trainer.Step < sftSteps) sftLosses.Add(trainer.TrainStep().MainLoss);
        var sftSeconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"sft: {sftSteps} steps in {sftSeconds:F0} s, loss {sftLosses.FirstOrDefault():F3} → {sftLosses.LastOrDefault():F3}");
        var before = HeldOutAccuracy.Evaluate(trainer.Model, tokenizer, test, maxNewTokens);
        Console.Error.WriteLine($"sft model: accuracy {before.Accuracy:P1}, format {before.Format:P1} on {test.Count} held-out problems ({before.Seconds:F0} s)");

        // GRPO from the SFT model; the reference is a frozen copy of it.
        using var reference = new DeepSeekModel(model, training.Seed);
        Copy(trainer.Model, reference);
        var grpoOptions = new GrpoOptions
        {
            GroupSize = options.Int("--group", 8), PromptsPerStep = options.Int("--prompts", 8), Passes = options.Int("--passes", 1),
            MaxNewTokens = maxNewTokens, Temperature = Double(options, "--temperature", 1.0), Stop = [R1Format.AnswerClose],
            LearningRate = Double(options, "--lr", 1e-5), Seed = seed,
            Loss = new GrpoSettings(Clip: Double(options, "--clip", 0.2), KlCoefficient: Double(options, "--kl", 0.04)),
        };
        using var grpo = new GrpoTrainer(trainer.Model, reference, tokenizer, train.Select(p => R1Format.Prompt(p.Question)).ToArray(),
            (i, text) => new RolloutReward(R1Rewards.Accuracy(text, train[i].Answer), R1Rewards.Format(text)), training, grpoOptions);
        clock.Restart();
        var curve = new List<GrpoStepReport>();
        var deadline = options.Int("--deadline-seconds", 0); // GRPO takes no new step past this time since the start (0: none)
        while (grpo.Step < grpoSteps && (deadline == 0 || (DateTime.UtcNow - started).TotalSeconds < deadline))
        {
            var step = grpo.TrainStep();
            curve.Add(step);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"grpo step {step.Step}: accuracy {step.Accuracy:F3} format {step.Format:F3} kl {step.Kl:F4} clip {step.ClipFraction:F3} ({clock.Elapsed.TotalSeconds:F0} s)"));
        }
        var grpoSeconds = clock.Elapsed.TotalSeconds;
        var after = HeldOutAccuracy.Evaluate(trainer.Model, tokenizer, test, maxNewTokens);
        Console.Error.WriteLine($"grpo model: accuracy {after.Accuracy:P1}, format {after.Format:P1}");
        var checkpoint = options.String("--checkpoint", "") is { Length: > 0 } root ? TrainerCheckpoint.Save(trainer, root) : null;

        var result = new
        {
            bench = Command, started, command = "dotnet run -c Release --project bench/Benchmarks -- r1-recipe " + string.Join(' ', args),
            machine = MachineInfo.Current(), libtorch_threads = get_num_threads(), config = Path.GetFileName(configPath),
            parameters = R1Distillation.Parameters(model), seed,
            task = new { min_digits = task.MinDigits, max_digits = task.MaxDigits, operations = string.Join(",", task.Operations), train = train.Count, test = test.Count, max_new_tokens = maxNewTokens },
            pretrain = new
            {
                steps = pretrainSteps, seconds = pretrainSeconds, lr = pretrainTraining.LearningRate,
                loss_first = pretrainLosses.Select(l => l.Main).FirstOrDefault(), loss_last = pretrainLosses.Select(l => l.Main).LastOrDefault(),
                mtp_loss_last = pretrainLosses.Select(l => l.Mtp).LastOrDefault(),
            },
            sft = new
            {
                steps = sftSteps, seconds = sftSeconds, lr = sftTraining.LearningRate, loss_first = sftLosses.FirstOrDefault(), loss_last = sftLosses.LastOrDefault(),
                accuracy = before.Accuracy, format = before.Format, accuracy_by_operation = before.AccuracyByOperation, eval_seconds = before.Seconds, sample = before.Sample,
            },
            grpo = new
            {
                steps = curve.Count, steps_asked = grpoSteps, deadline_seconds = deadline, seconds = grpoSeconds, group_size = grpoOptions.GroupSize, prompts_per_step = grpoOptions.PromptsPerStep,
                passes = grpoOptions.Passes, lr = grpoOptions.LearningRate, kl_coef = grpoOptions.Loss.KlCoefficient, clip = grpoOptions.Loss.Clip,
                temperature = grpoOptions.Temperature, accuracy = after.Accuracy, format = after.Format, accuracy_by_operation = after.AccuracyByOperation,
                sample = after.Sample,
                curve = curve.Select(s => new
                {
                    step = s.Step, accuracy = s.Accuracy, format = s.Format, kl = s.Kl, clip = s.ClipFraction, length = s.CompletionTokens,
                    loss = s.Loss, seconds = s.Seconds,
                }),
            },
            checkpoint,
        };
        var json = BenchJson.Serialize(result);
        Console.WriteLine(json);
        if (options.String("--out", "") is { Length: > 0 } path) File.WriteAllText(path, json);
        return 0;
    }

    /// <summary><c>--teacher CKPT</c>: the distillation stage alone, its teacher the checkpoint's model (a GRPO model that <c>--checkpoint</c> saved; its held-out accuracy is that run's).</summary>
    private static int DistillFrom(string teacherPath, BenchArgs options, string[] args, DateTime started, TrainingConfig training, ITextTokenizer tokenizer,
        IReadOnlyList<ArithmeticProblem> train, IReadOnlyList<ArithmeticProblem> test, int maxNewTokens, ulong seed)
    {
        var folder = CheckpointModel.Resolve(teacherPath);
        var model = CheckpointModel.Config(folder).Model!;
        var dim = options.Int("--student-dim", model.Dim / 2);
        var student = model with { Dim = dim, InterDim = dim * 3, MoeInterDim = dim / 2, Layers = options.Int("--student-layers", Math.Max(2, model.Layers - 1)), MtpDepth = 0 };
        var settings = new DistillSettings(student, options.Int("--distill-steps", 150), options.Int("--distill-prompts", 1000),
            Double(options, "--distill-temperature", 2.0), Double(options, "--distill-kl", 1.0));
        var distillation = R1Distillation.Run(folder, training, settings, tokenizer, train, test, maxNewTokens, seed);
        var json = BenchJson.Serialize(new
        {
            bench = Command + " (distill)", started, command = "dotnet run -c Release --project bench/Benchmarks -- r1-recipe " + string.Join(' ', args),
            machine = MachineInfo.Current(), libtorch_threads = get_num_threads(), teacher = folder, teacher_parameters = R1Distillation.Parameters(model),
            distillation,
        });
        Console.WriteLine(json);
        if (options.String("--out", "") is { Length: > 0 } path) File.WriteAllText(path, json);
        return 0;
    }

    private static double Double(BenchArgs options, string name, double fallback) =>
        double.Parse(options.String(name, fallback.ToString("R", CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    /// <summary>Copies every tensor of <paramref name="from"/> (weights and expert biases) into <paramref name="to"/>, of the same config.</summary>
    private static void Copy(DeepSeekModel from, DeepSeekModel to)
    {
        using var noGrad = no_grad();
        foreach (var ((_, target), (_, source)) in ModelState.Tensors(to).Zip(ModelState.Tensors(from))) target.copy_(source);
    }

    private static SftExample Example(ITextTokenizer tokenizer, ArithmeticProblem problem)
    {
        var prompt = tokenizer.Encode(R1Format.Prompt(problem.Question));
        var response = tokenizer.Encode(problem.Response);
        return new SftExample([.. prompt, .. response, tokenizer.EndOfText], prompt.Length);
    }
}
