using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Kernels.Tests.Training;

/// <summary>
/// pp × dp: each data-parallel replica is a pipeline over its own rows of the global batch, and the stages average
/// their gradients over the replicas; against one process over the whole batch.
/// </summary>
public sealed class PipelineDataParallelTests
{
    private const int Steps = 3;
    private const int Rows = 2;

    public PipelineDataParallelTests() => Torch.Ready();

    private static ModelConfig Model() => TinyModels.Micro(mtpDepth: 0) with { Layers = 4, DenseLayers = 1 };

    private static TrainingConfig Training(int rows) => TinyModels.MicroTraining with { MicroBatchSize = rows, GradientAccumulation = 4 };

    /// <summary>Replica <paramref name="replica"/>'s rows of the global batch the single process trains on.</summary>
    private sealed class ReplicaRows(int replica, int replicas, int window) : IBatchSource
    {
        private readonly PatternBatchSource _global = new(257, Rows * replicas, window);

        public int VocabSize => 257;

        public void Fill(long step, int microStep, Span<long> destination)
        {
            var all = new long[Rows * replicas * window];
            _global.Fill(step, microStep, all);
            all.AsSpan(replica * Rows * window, Rows * window).CopyTo(destination);
        }
    }

    [Theory]
    [InlineData("1f1b", 2, 2)]
    [InlineData("dualpipev", 2, 2)]
    public async Task ReplicatedPipelines_TrainAsOneProcessOverTheWholeBatch(string scheduleName, int stages, int replicas)
    {
        var window = TinyModels.MicroTraining.SequenceLength + 1;
        using var single = new Trainer(Model(), Training(Rows * replicas), new PatternBatchSource(257, Rows * replicas, window), Steps);
        var expected = Enumerable.Range(0, Steps).Select(_ => single.TrainStep()).ToList();
        var weights = single.NamedTensors().ToDictionary(t => t.Name, t => t.Tensor.data<float>().ToArray());

        var schedule = PipelineSchedule.Named(scheduleName)!;
        var links = Enumerable.Range(0, replicas).Select(_ => new InProcessStageLinks(stages)).ToArray();
        var pipelines = Enumerable.Range(0, replicas).Select(_ => new InProcessGroup(stages)).ToArray();
        var stageGroups = Enumerable.Range(0, stages).Select(_ => new InProcessGroup(replicas)).ToArray();
        var ranks = (from d in Enumerable.Range(0, replicas) from s in Enumerable.Range(0, stages) select (d, s)).Select(at => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            using var trainer = new PipelineTrainer(Model(), Training(Rows), new ReplicaRows(at.d, replicas, window), Steps, schedule,
                links[at.d].Link(at.s), pipelines[at.d].Collective(at.s), replicas: stageGroups[at.s].Collective(at.d));
            var reports = Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
            return (reports, Weights: trainer.NamedTensors().Select(t => (t.Name, Values: t.Tensor.data<float>().ToArray())).ToList());
        }, TaskCreationOptions.LongRunning)).ToArray();
        var all = Task.WhenAll(ranks);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(3))));

        var largest = 0.0;
        foreach (var (reports, held) in await all)
        {
            for (var step = 0; step < Steps; step++)
            {
                Assert.Equal(expected[step].Loads.SelectMany(l => l), reports[step].Loads.SelectMany(l => l)); // the same routing
                Assert.Equal(expected[step].MainLoss, reports[step].MainLoss, expected[step].MainLoss * 1e-6);
                Assert.True(reports[step].EveryRankGoesOn, $"step {step + 1}: a rank voted to stop");
            }

            foreach (var (name, values) in held) largest = Math.Max(largest, values.Zip(weights[name], (a, b) => (double)Math.Abs(a - b)).Max());
        }

        // Not bit for bit: attention and the dense GEMMs of a replica reduce over its own rows, one process over all.
        Assert.True(largest < 1e-5, $"{scheduleName} pp {stages} × dp {replicas}: weights {largest:E2} from one process");
        var replicaWeights = (await all).Select(r => r.Weights.ToDictionary(w => w.Name, w => w.Values)).ToArray();
        for (var s = 0; s < stages; s++)
            foreach (var (name, values) in replicaWeights[s]) Assert.True(values.SequenceEqual(replicaWeights[stages + s][name]), $"replicas of stage {s} disagree on {name}");
        foreach (var d in links) d.Dispose();
        foreach (var g in pipelines.Concat(stageGroups)) g.Dispose();
    }

    [Theory]
    [InlineData("1f1b", 2, 2, 1)]
    [InlineData("zb1p", 2, 2, 1)]
    [InlineData("1f1b", 2, 2, 2)]
    public async Task PipelinesWithExpertsShardedInEachStage_TrainAsOneProcessOverTheWholeBatch(string scheduleName, int stages, int ep, int dp)
    {
        var window = TinyModels.MicroTraining.SequenceLength + 1;
        var ranksPerStage = ep * dp;
        using var single = new Trainer(Model(), Training(Rows * ranksPerStage), new PatternBatchSource(257, Rows * ranksPerStage, window), Steps);
        var expected = Enumerable.Range(0, Steps).Select(_ => single.TrainStep()).ToList();

        var schedule = PipelineSchedule.Named(scheduleName)!;
        var layout = new ParallelLayout(ep, dp, stages);
        var groups = Enumerable.Range(0, layout.Ranks).Select(r => new ParallelGroups(layout, r)).ToArray();
        var shared = groups.SelectMany(g => new[] { g.Stage, g.Experts, g.Replicas, g.Pipeline }).OfType<ProcessGroup>()
            .DistinctBy(g => g.Number).ToDictionary(g => g.Number, g => new InProcessGroup(g.Members.Count));
        var links = groups.Select(g => g.Pipeline!).DistinctBy(g => g.Number).ToDictionary(g => g.Number, g => new InProcessStageLinks(g.Members.Count));
        ICollective Join(ProcessGroup group, int rank) => shared[group.Number].Collective(group.IndexOf(rank));
        var ranks = groups.Select(g => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            var experts = new ExpertParallelism(Join(g.Experts, g.Rank), ExpertPlacement.Create(Model().RoutedExperts, ep))
            {
                World = Join(g.Stage, g.Rank),
                Replicas = g.Replicas is { } r ? Join(r, g.Rank) : null,
            };
            using var trainer = new PipelineTrainer(Model(), Training(Rows), new ReplicaRows(g.DataShard, ranksPerStage, window), Steps, schedule,
                links[g.Pipeline!.Number].Link(g.At.Stage), Join(g.Pipeline, g.Rank), experts: experts);
            return Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep()).ToList();
        }, TaskCreationOptions.LongRunning)).ToArray();
        var all = Task.WhenAll(ranks);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(3))));

        foreach (var reports in await all)
            for (var step = 0; step < Steps; step++)
            {
                Assert.Equal(expected[step].Loads.SelectMany(l => l), reports[step].Loads.SelectMany(l => l)); // the same routing
                Assert.Equal(expected[step].MainLoss, reports[step].MainLoss, expected[step].MainLoss * 1e-5);
                Assert.True(reports[step].EveryRankGoesOn, $"step {step + 1}: a rank voted to stop");
            }

        foreach (var l in links.Values) l.Dispose();
        foreach (var g in shared.Values) g.Dispose();
    }
}
