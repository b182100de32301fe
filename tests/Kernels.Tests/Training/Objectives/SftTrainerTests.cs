using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

/// <summary>The trainer with the SFT objective: the same step machinery, deterministic, and it learns the responses.</summary>
public sealed class SftTrainerTests
{
    public SftTrainerTests() => Torch.Ready();

    [Fact]
    public void SftSteps_AreDeterministicAndLowerTheResponseLoss()
    {
        var first = Run(8);
        var second = Run(8);
        Assert.Equal(first, second); // same seed, data and config: the same bits
        Assert.True(first[^1] < first[0], $"the response loss should fall: {string.Join(", ", first)}");
    }

    private static float[] Run(int steps)
    {
        var tokenizer = new ByteTokenizer();
        var (train, _) = new ArithmeticTask(1, 2).Splits(2, 24, 0);
        var examples = train.Select(p =>
        {
            var prompt = tokenizer.Encode(R1Format.Prompt(p.Question));
            return new SftExample([.. prompt, .. tokenizer.Encode(p.Response), tokenizer.EndOfText], prompt.Length);
        }).Where(e => e.Tokens.Length <= 129).ToArray();
        var training = TinyModels.MicroTraining with { SequenceLength = 128, MicroBatchSize = 2 };
        var model = TinyModels.Micro() with { MaxSequenceLength = 128 };
        var source = new PackedSftSource(new SftPacking(examples, training.SequenceLength + 1, training.Seed, tokenizer.EndOfText),
            training.Seed, training.MicroBatchSize, training.GradientAccumulation, vocabSize: tokenizer.VocabSize);
        using var trainer = new Trainer(model, training, new SftObjective(source), steps);
        return Enumerable.Range(0, steps).Select(_ => (float)trainer.TrainStep().MainLoss).ToArray();
    }
}
