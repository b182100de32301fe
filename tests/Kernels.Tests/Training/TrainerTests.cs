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
