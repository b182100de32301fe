using System.Diagnostics;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Benchmarks.Rl;

/// <summary>What the distillation stage was given: the student's shape, its steps and the logit term's settings.</summary>
internal sealed record DistillSettings(ModelConfig Student, int Steps, int Prompts, double Temperature, double KlWeight);

/// <summary>
/// The recipe's distillation, in one process: the trained teacher answers training prompts greedily (its text is the
/// student's data, kept whether right or wrong — no rejection sampling), then a smaller student from its initial
/// weights is fine-tuned on that text twice — SFT on the teacher's responses alone, and with the logit KL to the
/// teacher — and each student is scored on the held-out problems beside its teacher. The first student's objective is
/// <see cref="SftObjective"/>, the second's <see cref="DistillObjective"/>, which owns (and disposes) its own copy of the
/// teacher loaded again from the checkpoint.
/// </summary>
internal static class R1Distillation
{
    /// <summary>Distils the model of the checkpoint folder <paramref name="teacherFolder"/> into <see cref="DistillSettings.Student"/>; the result is the bench's JSON object.</summary>
    public static object Run(string teacherFolder, TrainingConfig training, DistillSettings settings, ITextTokenizer tokenizer,
        IReadOnlyList<ArithmeticProblem> prompts, IReadOnlyList<ArithmeticProblem> test, int maxNewTokens, ulong seed)
    {
        var clock = Stopwatch.StartNew();
        var chosen = prompts.Take(settings.Prompts).ToArray();
        var examples = new List<SftExample>(chosen.Length);
        double teacherRight = 0;
        using (var teacher = CheckpointModel.Load(teacherFolder))
        using (var generator = new TextGenerator(teacher, tokenizer))
            foreach (var batch in chosen.Chunk(50))
            {
                var encoded = batch.Select(p => tokenizer.Encode(R1Format.Prompt(p.Question))).ToArray();
                var result = generator.Generate(batch.Select(p => R1Format.Prompt(p.Question)).ToArray(),
                    new GenerationOptions { MaxNewTokens = maxNewTokens, Stop = [R1Format.AnswerClose] });
                for (var i = 0; i < batch.Length; i++)
                {
                    var completion = result.Completions[i].Tokens.Where(t => t != tokenizer.EndOfText).ToArray();
                    teacherRight += R1Rewards.Accuracy(tokenizer.Decode(completion), batch[i].Answer);
                    examples.Add(new SftExample([.. encoded[i], .. completion, tokenizer.EndOfText], encoded[i].Length));
                }
            }
        var teacherDataSeconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"distill: teacher answered {chosen.Length} training prompts in {teacherDataSeconds:F0} s, {teacherRight / chosen.Length:P1} right");

        var students = new List<object>();
        foreach (var withLogits in new[] { false, true })
        {
            clock.Restart();
            var packing = new SftPacking(examples, training.SequenceLength + 1, seed, tokenizer.EndOfText);
            var data = new PackedSftSource(packing, seed, training.MicroBatchSize, training.GradientAccumulation, vocabSize: tokenizer.VocabSize);
            ITrainingObjective objective = withLogits
                ? new DistillObjective(data, CheckpointModel.Load(teacherFolder), settings.Temperature, settings.KlWeight)
                : new SftObjective(data);
            using var owned = objective as IDisposable;
            using var trainer = new Trainer(settings.Student, training, objective, settings.Steps);
            var losses = new List<double>();
            while (trainer.Step < settings.Steps) losses.Add(trainer.TrainStep().MainLoss);
            var trainSeconds = clock.Elapsed.TotalSeconds;
            var score = HeldOutAccuracy.Evaluate(trainer.Model, tokenizer, test, maxNewTokens);
            Console.Error.WriteLine($"student ({objective.Name}): loss {losses[0]:F3} → {losses[^1]:F3} in {trainSeconds:F0} s; accuracy {score.Accuracy:P1}, format {score.Format:P1}");
            students.Add(new
            {
                objective = objective.Name, logit_term = withLogits, seconds = trainSeconds, loss_first = losses[0], loss_last = losses[^1],
                accuracy = score.Accuracy, format = score.Format, accuracy_by_operation = score.AccuracyByOperation, sample = score.Sample,
            });
        }
        return new
        {
            student_config = settings.Student, student_parameters = Parameters(settings.Student), steps = settings.Steps,
            teacher_prompts = chosen.Length, teacher_data_accuracy = teacherRight / chosen.Length, teacher_data_seconds = teacherDataSeconds,
            temperature = settings.Temperature, kl_weight = settings.KlWeight, students,
        };
    }

    /// <summary>The parameter count of a config's model (built on the CPU and dropped).</summary>
    public static long Parameters(ModelConfig config)
    {
        using var model = new DeepSeekModel(config);
        return model.parameters().Sum(p => p.numel());
    }
}
