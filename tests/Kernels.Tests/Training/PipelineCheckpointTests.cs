using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Pipeline;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training;

/// <summary>
/// Pipeline ranks' checkpoint shards carry the whole model's tensor names, so the shards of one layout restore into
/// another (pp 4 into pp 2 under another schedule, or into one process) and the resumed run goes on with the bits
/// of the uninterrupted one.
/// </summary>
public sealed class PipelineCheckpointTests
{
    private const int Rows = 2;
    private const int MicroBatches = 4;

    public PipelineCheckpointTests() => Torch.Ready();

    private static ModelConfig Model() => TinyModels.Micro(mtpDepth: 0) with { Layers = 4, DenseLayers = 1 };

    private static TrainingConfig Training() => TinyModels.MicroTraining with { MicroBatchSize = Rows, GradientAccumulation = MicroBatches };

    private static PatternBatchSource Data() => new(257, Rows, Training().SequenceLength + 1);

    /// <summary>Runs <paramref name="stages"/> pipeline ranks: restored from <paramref name="restore"/> when given, <paramref name="steps"/> steps, then each rank's full snapshot.</summary>
    private static (Dictionary<string, float[]> Weights, TrainerSnapshot[] Shards) Pipeline(
        string scheduleName, int stages, int steps, (TrainerState State, Dictionary<string, Tensor> Tensors)? restore = null)
    {
        var schedule = PipelineSchedule.Named(scheduleName)!;
        using var links = new InProcessStageLinks(stages);
        using var group = new InProcessGroup(stages);
        var ranks = Enumerable.Range(0, stages).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            using var trainer = new PipelineTrainer(Model(), Training(), Data(), 3, schedule, links.Link(rank), group.Collective(rank));
            if (restore is { } from) TrainerShards.Restore(trainer, from.State, from.Tensors);
            for (var s = 0; s < steps; s++) trainer.TrainStep();
            var weights = trainer.NamedTensors().Select(t => (t.Name, Values: t.Tensor.data<float>().ToArray())).ToList();
            return (weights, TrainerShards.Snapshot(trainer, _ => true));
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(3)), "pipeline ranks did not finish");
        return (ranks.SelectMany(r => r.Result.weights).ToDictionary(w => w.Name, w => w.Values), ranks.Select(r => r.Result.Item2).ToArray());
    }

    /// <summary>Every rank's shard read back into one name → tensor map, as a restoring rank gathers them from shard files.</summary>
    private static (TrainerState, Dictionary<string, Tensor>) Union(TrainerSnapshot[] shards)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            using var stream = new MemoryStream();
            TensorArchive.Write(stream, shard.Entries.ToArray());
            stream.Position = 0;
            foreach (var (name, t) in TensorArchive.Read(stream, "shard")) tensors.TryAdd(name, t);
        }

        return (shards[0].State, tensors);
    }

    private static Dictionary<string, float[]> Single(int steps)
    {
        using var trainer = new Trainer(Model(), Training(), Data(), 3);
        for (var s = 0; s < steps; s++) trainer.TrainStep();
        return trainer.NamedTensors().ToDictionary(t => t.Name, t => t.Tensor.data<float>().ToArray());
    }

    [Fact]
    public void Pp4ShardsRestoredIntoPp2UnderAnotherSchedule_GoOnWithTheUninterruptedBits()
    {
        var uninterrupted = Single(3);
        var (_, shards) = Pipeline("1f1b", 4, 2);
        Assert.All(shards, s => Assert.Equal(2, s.State.Step));
        var (resumed, _) = Pipeline("dualpipev", 2, 1, Union(shards));

        Assert.Equal(uninterrupted.Keys.Order(), resumed.Keys.Order());
        foreach (var (name, values) in resumed) Assert.True(uninterrupted[name].SequenceEqual(values), $"{name} differs after the pp 4 → pp 2 resume");
    }

    [Fact]
    public void PipelineShardsRestoredIntoOneProcess_GoOnWithTheUninterruptedBits()
    {
        var uninterrupted = Single(3);
        var (_, shards) = Pipeline("zb1p", 2, 2);
        var (state, tensors) = Union(shards);
        using var trainer = new Trainer(Model(), Training(), Data(), 3);
        TrainerShards.Restore(trainer, state, tensors);
        trainer.TrainStep();

        foreach (var (name, t) in trainer.NamedTensors()) Assert.True(uninterrupted[name].SequenceEqual(t.data<float>().ToArray()), $"{name} differs after the pp 2 → one-process resume");
    }

    [Fact]
    public void AShardSetWithoutAStage_IsRefusedNamingTheMissingTensor()
    {
        var (_, shards) = Pipeline("1f1b", 2, 1);
        var (state, tensors) = Union([shards[0]]); // the last stage's shard is lost
        using var trainer = new Trainer(Model(), Training(), Data(), 3);
        var refused = Assert.Throws<InvalidDataException>(() => TrainerShards.Restore(trainer, state, tensors));
        Assert.Contains("has no tensor 'model/layers.2.", refused.Message);
    }
}
