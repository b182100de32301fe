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

    [Fact]
    public void AnSftRun_ResumedFromItsSnapshot_ContinuesBitForBit()
    {
        var uninterrupted = Run(6);
        using var first = NewTrainer(6);
        var losses = Enumerable.Range(0, 3).Select(_ => (float)first.TrainStep().MainLoss).ToList();
        var snapshot = TrainerShards.Snapshot(first, _ => true);
        using var stream = new MemoryStream();
        TensorArchive.Write(stream, [.. snapshot.Entries]);
        stream.Position = 0;
        var tensors = TensorArchive.Read(stream, "snapshot");

        using var resumed = NewTrainer(6);
        TrainerShards.Restore(resumed, snapshot.State, tensors);
        foreach (var tensor in tensors.Values) tensor.Dispose();
        losses.AddRange(Enumerable.Range(0, 3).Select(_ => (float)resumed.TrainStep().MainLoss));
        Assert.Equal(uninterrupted, losses); // the packed rows and the masked loss are functions of (seed, step)
    }

    private static float[] Run(int steps)
    {
        using var trainer = NewTrainer(steps);
        return Enumerable.Range(0, steps).Select(_ => (float)trainer.TrainStep().MainLoss).ToArray();
    }

    private static Trainer NewTrainer(int steps)
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
        return new Trainer(model, training, new SftObjective(source), steps);
    }
}
