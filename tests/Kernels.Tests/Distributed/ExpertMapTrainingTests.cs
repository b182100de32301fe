using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>
/// EP 4 training of the micro model (16 experts, two MoE layers: the main one and the MTP module's) routed by maps other
/// than the formula placement: the math must not change.
/// </summary>
public sealed class ExpertMapTrainingTests
{
    public ExpertMapTrainingTests() => Torch.Ready();

    private const int Steps = 6;
    private const int World = 4;

    private static (List<StepReport> Reports, List<Dictionary<(int Layer, int Expert), float[]>> Experts)[] Train(ExpertMap? map) =>
        ExpertMapRanks.Run(World, map, Steps, (trainer, rank) =>
        {
            var reports = new List<StepReport>();
            var experts = new List<Dictionary<(int, int), float[]>>();
            for (var step = 0; step < Steps; step++)
            {
                reports.Add(trainer.TrainStep());
                experts.Add(ExpertMapRanks.Experts(trainer, rank));
            }
            return (reports, experts);
        });

    [Fact]
    public void PermutedMap_TrainsToTheIdentityMapsBits()
    {
        var identity = Train(null);
        var permuted = Train(ExpertMapRanks.Permuted(1));

        for (var rank = 0; rank < World; rank++)
            for (var step = 0; step < Steps; step++)
            {
                // Each expert runs the same rows in the same order on whichever rank holds it: the same bits.
                Assert.Equal(identity[rank].Reports[step].Loss, permuted[rank].Reports[step].Loss);
                Assert.Equal(identity[rank].Reports[step].Loads.SelectMany(l => l), permuted[rank].Reports[step].Loads.SelectMany(l => l));
                // The norm sums the experts' squares per rank, then over ranks: another grouping of the float64 sum.
                Assert.Equal(identity[rank].Reports[step].GradNorm, permuted[rank].Reports[step].GradNorm, identity[rank].Reports[step].GradNorm * 1e-12);
            }

        // Every expert's weights after the last step: the same bits as the formula placement's copy.
        var before = identity.SelectMany(r => r.Experts[^1]).ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, values) in permuted.SelectMany(r => r.Experts[^1])) Assert.Equal(before[key], values);
    }

    [Fact]
    public void ReplicatedMap_GivesTheIdentityMapsLosses_AndKeepsReplicasIdentical()
    {
        var map = ExpertMapRanks.Replicated(1);
        Assert.NotEmpty(map.Layers[0].Replicated);
        Assert.Equal([0, 1, 2], map.Layers[1].Hosts(5));
        Assert.Equal([3], map.Layers[1].Hosts(12));
        var identity = Train(null);
        var replicated = Train(map);

        for (var rank = 0; rank < World; rank++)
            for (var step = 0; step < Steps; step++)
            {
                // Not bit-identical: a replicated expert's rows run as several smaller GEMMs (which may block their sums
                // differently) and its gradient is the sum of its copies' parts, another order of the same sum.
                Assert.Equal(identity[rank].Reports[step].Loss, replicated[rank].Reports[step].Loss, identity[rank].Reports[step].Loss * 1e-5);
                Assert.Equal(identity[rank].Reports[step].GradNorm, replicated[rank].Reports[step].GradNorm, identity[rank].Reports[step].GradNorm * 1e-4);
                Assert.Equal(identity[rank].Reports[step].Loads.SelectMany(l => l), replicated[rank].Reports[step].Loads.SelectMany(l => l));
            }

        // After every step, every copy of an expert holds the same bits as its first copy.
        for (var step = 0; step < Steps; step++)
            for (var layer = 0; layer < 2; layer++)
                foreach (var e in map.Layers[layer].Replicated)
                {
                    var hosts = map.Layers[layer].Hosts(e);
                    var first = replicated[hosts[0]].Experts[step][(layer, e)];
                    foreach (var other in hosts.Skip(1)) Assert.Equal(first, replicated[other].Experts[step][(layer, e)]);
                }

        // And each copy stays close to the single copy of the formula placement.
        var single = identity.SelectMany(r => r.Experts[^1]).ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, values) in replicated.SelectMany(r => r.Experts[^1]))
            Assert.All(values.Zip(single[key]), p => Assert.Equal(p.Second, p.First, 1e-4));
    }

    [Fact]
    public void Map_OfAnotherLayerCount_IsRefused()
    {
        using var group = new InProcessGroup(World);
        var parallel = new ExpertParallelism(group.Collective(0), ExpertPlacement.Create(16, World))
        {
            Map = new ExpertMap(0, [ExpertLayerMap.Identity(ExpertPlacement.Create(16, World))]),
        };

        var error = Assert.Throws<ArgumentException>(() => new Orchestrator.Kernels.Model.DeepSeekModel(TinyModels.Micro(), 1, parallel));

        Assert.Contains("1 MoE layers; the model has 2", error.Message, StringComparison.Ordinal);
    }
}
