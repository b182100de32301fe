using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "orch-trainer-" + Guid.NewGuid().ToString("N"));

    public TrainerTests() => Torch.Ready();

    private static Trainer NewTrainer(long steps = 8) =>
        new(TinyModels.Micro(), TinyModels.MicroTraining, Source(), steps);

    private static PatternBatchSource Source() =>
        new(257, TinyModels.MicroTraining.MicroBatchSize, TinyModels.MicroTraining.SequenceLength + 2);

    [Fact]
    public void ASnapshotReusingThePreviousArrays_HoldsTheCurrentValues()
    {
        using var trainer = NewTrainer();
        trainer.TrainStep();
        var first = TrainerShards.Snapshot(trainer, _ => true);
        var firstBytes = first.Entries.Select(e => e.Data.ToArray()).ToList();
        trainer.TrainStep();

        var second = TrainerShards.Snapshot(trainer, _ => true, first.Entries);
        var fresh = TrainerShards.Snapshot(trainer, _ => true);

        Assert.Equal(fresh.Entries.Select(e => e.Name), second.Entries.Select(e => e.Name));
        Assert.All(second.Entries.Zip(first.Entries), p => Assert.Same(p.Second.Data, p.First.Data)); // the arrays were filled again
        Assert.All(second.Entries.Zip(fresh.Entries), p => Assert.Equal(p.Second.Data, p.First.Data)); // with the values of now
        Assert.Contains(second.Entries.Zip(firstBytes), p => !p.First.Data.AsSpan().SequenceEqual(p.Second)); // which a step changed
    }

    [Fact]
    public void ResumeFromCheckpoint_ContinuesBitIdentically()
    {
        var straight = new List<StepReport>();
        using (var trainer = NewTrainer())
            for (var i = 0; i < 6; i++) straight.Add(trainer.TrainStep());

        var resumed = new List<StepReport>();
        using (var trainer = NewTrainer())
        {
            for (var i = 0; i < 3; i++) resumed.Add(trainer.TrainStep());
            TrainerCheckpoint.Save(trainer, _dir);
            for (var i = 0; i < 2; i++) trainer.TrainStep(); // progress that the checkpoint must not see
        }
        using (var trainer = TrainerCheckpoint.Load(TrainerCheckpoint.Latest(_dir)!, TinyModels.Shipped with { Model = TinyModels.Micro(), Training = TinyModels.MicroTraining }, Source(), 8))
        {
            Assert.Equal(3, trainer.Step);
            for (var i = 0; i < 3; i++) resumed.Add(trainer.TrainStep());
        }

        Assert.Equal(straight.Select(r => BitConverter.DoubleToInt64Bits(r.Loss)), resumed.Select(r => BitConverter.DoubleToInt64Bits(r.Loss)));
        Assert.Equal(straight.Select(r => r.Loads.SelectMany(l => l)).Select(l => string.Join(",", l)), resumed.Select(r => r.Loads.SelectMany(l => l)).Select(l => string.Join(",", l)));
    }

    [Fact]
    public void Training_LowersTheLoss_AndMovesTheBiases()
    {
        using var trainer = NewTrainer(40);
        var reports = Enumerable.Range(0, 40).Select(_ => trainer.TrainStep()).ToArray();

        Assert.True(reports[^5..].Average(r => r.MainLoss) < reports[..5].Average(r => r.MainLoss) - 0.25,
            $"loss went from {reports[0].MainLoss} to {reports[^1].MainLoss}");
        using var bias = trainer.Model.MoeLayers[0].ExpertBias.abs().max();
        Assert.True(bias.item<float>() > 0);
        Assert.Equal(40 * 4 * 16, trainer.TokensSeen);
    }

    [Fact]
    public void NonFiniteLoss_StopsTheStep_AndLeavesTheCheckpointIntact()
    {
        using var trainer = NewTrainer();
        trainer.TrainStep();
        var folder = TrainerCheckpoint.Save(trainer, _dir);
        var before = Directory.GetFiles(folder).ToDictionary(f => f, File.ReadAllBytes);
        using (no_grad()) trainer.Model.named_parameters().First(p => p.name == "norm.weight").parameter[0] = float.NaN;

        var error = Assert.ThrowsAny<NonFiniteLossException>(() => { for (var i = 0; i < 4; i++) trainer.TrainStep(); });

        Assert.Contains("NaN", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, trainer.Step);
        Assert.Equal(folder, TrainerCheckpoint.Latest(_dir));
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
    }

    [Fact]
    public void Resume_WithADifferentConfig_IsRefused()
    {
        using (var trainer = NewTrainer()) { trainer.TrainStep(); TrainerCheckpoint.Save(trainer, _dir); }
        var other = TinyModels.Shipped with { Model = TinyModels.Micro(), Training = TinyModels.MicroTraining with { LearningRate = 0.5 } };

        var error = Assert.Throws<InvalidDataException>(() => TrainerCheckpoint.Load(TrainerCheckpoint.Latest(_dir)!, other, Source(), 8));
        Assert.Contains("different config", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GradientAccumulation_OverHalfBatches_EqualsOneFullBatch()
    {
        var window = TinyModels.MicroTraining.SequenceLength + 2;
        var full = TinyModels.MicroTraining with { MicroBatchSize = 4, GradientAccumulation = 1 };
        var halves = TinyModels.MicroTraining with { MicroBatchSize = 2, GradientAccumulation = 2 };
        using var a = new Trainer(TinyModels.Micro(), full, new PatternBatchSource(257, 4, window), 4);
        using var b = new Trainer(TinyModels.Micro(), halves, new HalvedSource(new PatternBatchSource(257, 4, window), 2, window), 4);

        for (var step = 0; step < 4; step++)
        {
            var x = a.TrainStep();
            var y = b.TrainStep();
            Assert.Equal(x.Loss, y.Loss, Math.Abs(x.Loss) * 1e-5);
            Assert.Equal(x.Loads.SelectMany(l => l), y.Loads.SelectMany(l => l));
            Assert.Equal(x.Tokens, y.Tokens);
        }
    }

    /// <summary>Micro-step m of a step serves rows [m·rows, (m+1)·rows) of the full batch.</summary>
    private sealed class HalvedSource(IBatchSource full, int rows, int window) : IBatchSource
    {
        public int VocabSize => full.VocabSize;

        public void Fill(long step, int microStep, Span<long> destination)
        {
            var all = new long[2 * rows * window];
            full.Fill(step, 0, all);
            all.AsSpan(microStep * rows * window, rows * window).CopyTo(destination);
        }
    }

    [Fact]
    public void BFloat16Gemms_Train_AndStayCloseToFloat32()
    {
        var training = TinyModels.MicroTraining;
        var source = new PatternBatchSource(257, training.MicroBatchSize, training.SequenceLength + 2);
        using var bf16 = new Trainer(TinyModels.Micro() with { GemmPrecision = "bfloat16" }, training, source, 30);
        using var fp32 = new Trainer(TinyModels.Micro(), training, source, 30);

        var a = Enumerable.Range(0, 30).Select(_ => bf16.TrainStep().MainLoss).ToArray();
        var b = Enumerable.Range(0, 30).Select(_ => fp32.TrainStep().MainLoss).ToArray();

        Assert.True(a[^3..].Average() < a[..3].Average() - 0.1, $"bf16 loss went from {a[0]} to {a[^1]}");
        Assert.InRange(a[^3..].Average() / b[^3..].Average(), 0.97, 1.03);
        Assert.NotEqual(a, b); // the products really ran in bfloat16
        Assert.All(bf16.Model.parameters(), p => Assert.Equal(TorchSharp.torch.ScalarType.Float32, p.dtype)); // FP32 masters
    }

    [Fact]
    public void LearningRate_WarmsUpLinearly_ThenDecaysByCosineToTheMinimum()
    {
        var schedule = new LearningRateSchedule(1.0, 0.1, WarmupSteps: 4, DecaySteps: 14);
        Assert.Equal(0.25, schedule.At(0), 12);
        Assert.Equal(1.0, schedule.At(3), 12);
        Assert.Equal(1.0, schedule.At(4), 12);
        Assert.Equal(0.55, schedule.At(9), 12);
        Assert.Equal(0.1, schedule.At(14), 12);
        Assert.Equal(0.1, schedule.At(100), 12);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
