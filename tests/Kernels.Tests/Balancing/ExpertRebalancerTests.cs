using FsCheck;
using FsCheck.Xunit;
using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Kernels.Tests.Balancing;

/// <summary>The re-placement policy: DeepSeek's published example, and the invariants on any loads.</summary>
public sealed class ExpertRebalancerTests
{
    /// <summary>The EPLB README's case: 12 experts, 2 layers, 16 physical slots, 4 groups, 2 nodes, 8 GPUs.</summary>
    [Fact]
    public void ThePublishedExample_IsReproduced()
    {
        double[][] loads =
        [
            [90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
            [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27],
        ];
        var placement = ExpertRebalancer.Rebalance(loads, physical: 16, groups: 4, nodes: 2, ranks: 8);
        Assert.True(placement.Hierarchical);
        Assert.Equal([5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1], placement.PhysicalToLogical[0]);
        Assert.Equal([7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1], placement.PhysicalToLogical[1]);
    }

    [Property(MaxTest = 200)]
    public bool AnyLoads_PlaceEveryExpert_RespectTheSlots_AndKeepGroupsOnTheirNodes(PositiveInt seed)
    {
        var random = new Random(seed.Get);
        var nodes = new[] { 1, 2, 4 }[random.Next(3)];
        var ranks = nodes * random.Next(1, 4);
        var groups = nodes * random.Next(1, 3);
        var experts = groups * random.Next(1, 5) * ranks;
        var physical = experts + ranks * random.Next(0, 3);
        var loads = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, experts).Select(_ => (double)random.Next(0, 1000)).ToArray()).ToArray();
        var placement = ExpertRebalancer.Rebalance(loads, physical, groups, nodes, ranks);

        for (var layer = 0; layer < loads.Length; layer++)
        {
            var slots = placement.PhysicalToLogical[layer];
            var counts = placement.LogicalCount[layer];
            if (slots.Length != physical || counts.Sum() != physical || counts.Any(c => c < 1)) return false;
            // Each slot's logical expert is counted, and replicas of one expert are numbered 0..count-1.
            for (var e = 0; e < experts; e++)
            {
                var held = Enumerable.Range(0, physical).Where(s => slots[s] == e).Select(s => placement.ReplicaRank[layer][s]).Order().ToArray();
                if (!held.SequenceEqual(Enumerable.Range(0, counts[e]))) return false;
            }

            // Hierarchical: every slot of a node holds an expert of a group packed onto that node, and the node holds whole groups.
            var perNode = physical / nodes;
            for (var n = 0; n < nodes; n++)
            {
                var nodeGroups = slots.Skip(n * perNode).Take(perNode).Select(e => e / (experts / groups)).Distinct().Count();
                if (nodeGroups != groups / nodes) return false;
            }
        }

        return true;
    }

    [Fact]
    public void RedundantSlots_LowerTheBusiestRanksLoad_OnASkewedLayer()
    {
        double[][] loads = [[1000, 10, 10, 10, 10, 10, 10, 10]];
        var none = ExpertRebalancer.Rebalance(loads, physical: 8, groups: 1, nodes: 1, ranks: 4).RankLoads(loads, 4)[0];
        var four = ExpertRebalancer.Rebalance(loads, physical: 12, groups: 1, nodes: 1, ranks: 4).RankLoads(loads, 4)[0];
        Assert.Equal(1010, none.Max());
        // The hot expert in five copies of 200 over four ranks of three slots: one rank holds two of them (400 + 10).
        Assert.Equal(410, four.Max());
        Assert.Equal(loads[0].Sum(), four.Sum(), 6);
    }

    [Theory]
    [InlineData(9, 4, 1, 4, "9 physical slots do not divide evenly over 4 ranks")]
    [InlineData(4, 4, 1, 4, "4 physical slots cannot hold 8 logical experts")]
    [InlineData(8, 3, 1, 4, "8 experts do not divide into 3 groups")]
    [InlineData(8, 4, 3, 4, "4 ranks cannot be spread evenly over 3 nodes")]
    public void ImpossibleShapes_AreRefusedSayingWhy(int physical, int groups, int nodes, int ranks, string expected)
    {
        double[][] loads = [[1, 2, 3, 4, 5, 6, 7, 8]];
        var refused = Assert.Throws<ArgumentException>(() => ExpertRebalancer.Rebalance(loads, physical, groups, nodes, ranks));
        Assert.StartsWith(expected, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GroupsThatDoNotDivideOverTheNodes_UseTheGlobalVariant() =>
        Assert.False(ExpertRebalancer.Rebalance([[1, 2, 3, 4, 5, 6]], physical: 6, groups: 3, nodes: 2, ranks: 2).Hierarchical);
}
