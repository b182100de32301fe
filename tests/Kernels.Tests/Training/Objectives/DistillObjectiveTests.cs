using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

/// <summary>
/// The distill job's two Kernels parts: a teacher's answers do not depend on how the prompt set is split among ranks, and
/// the distillation objective is the sft objective plus the logit term (zero against a teacher equal to the student).
/// </summary>
public sealed class DistillObjectiveTests
{
    private static readonly string[] Prompts = ["1+2?", "30+4?", "5*6?", "7-1?", "12+21?"];

    public DistillObjectiveTests() => Torch.Ready();

    [Fact]
    public void TeacherAnswers_AreTheSame_HoweverThePromptsAreSplit_AndFitARow()
    {
        using var teacher = new DeepSeekModel(TinyModels.Micro(0) with { MaxSequenceLength = 128 }, 7);
        var tokenizer = new ByteTokenizer();
        var sampling = new TeacherSampling(16, 0.9, 0.95, 11);
        var whole = TeacherResponses.Generate(teacher, tokenizer, Prompts, 0, 1, 64, sampling);
        var split = new[] { 0, 1 }.SelectMany(s => TeacherResponses.Generate(teacher, tokenizer, Prompts, s, 2, 64, sampling)).OrderBy(a => a.Index).ToList();
        Assert.Equal(whole, split);
        Assert.Equal(Enumerable.Range(0, Prompts.Length), whole.Select(a => a.Index));
        Assert.All(whole.Where(a => a.Response is not null), a =>
            Assert.True(tokenizer.Encode(R1Format.Prompt(a.Prompt)).Length + tokenizer.Encode(a.Response!).Length + 1 <= 64));
        Assert.NotEqual(whole, TeacherResponses.Generate(teacher, tokenizer, Prompts, 0, 1, 64, sampling with { Seed = 12 })); // the seed matters
    }

    [Fact]
    public void TheObjective_IsSftPlusTheLogitTerm_WhichVanishesAgainstAnIdenticalTeacher()
    {
        var config = TinyModels.Micro(0) with { MaxSequenceLength = 128 };
        using var student = new DeepSeekModel(config, 3);
        using var recorder = student.NewRecorder();
        var sft = new SftObjective(Source());
        var plain = MainLoss(sft, student, recorder);

        using (var identical = new DistillObjective(Source(), Copy(student, config), 2.0, 0.5))
            Assert.Equal(plain, MainLoss(identical, student, recorder), 5);
        using (var other = new DistillObjective(Source(), new DeepSeekModel(config, 99), 2.0, 0.5))
            Assert.True(MainLoss(other, student, recorder) > plain + 1e-4, "a different teacher adds a positive KL");
        using (var zero = new DistillObjective(Source(), new DeepSeekModel(config, 99), 2.0, 0.0))
            Assert.Equal(plain, MainLoss(zero, student, recorder), 6);
    }

    private static float MainLoss(ITrainingObjective objective, DeepSeekModel model, RoutingRecorder recorder)
    {
        using var loss = objective.Loss(model, 0, 0, recorder);
        return loss.Main.item<float>();
    }

    private static DeepSeekModel Copy(DeepSeekModel model, Orchestrator.Kernels.Configuration.ModelConfig config)
    {
        var copy = new DeepSeekModel(config, 1234);
        var tensors = ModelState.Tensors(model).ToDictionary(t => t.Name, t => t.Tensor);
        ModelState.Load(copy, name => tensors.GetValueOrDefault(name), "the student");
        return copy;
    }

    private static PackedSftSource Source()
    {
        var tokenizer = new ByteTokenizer();
        var examples = Prompts.Select((p, i) =>
        {
            var prompt = tokenizer.Encode(R1Format.Prompt(p));
            return new SftExample([.. prompt, .. tokenizer.Encode(R1Format.Response($"step {i}", $"{i}")), tokenizer.EndOfText], prompt.Length);
        }).ToArray();
        return new PackedSftSource(new SftPacking(examples, 129, 5, tokenizer.EndOfText), 5, 2, 1, vocabSize: tokenizer.VocabSize);
    }
}
