using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Tests.Balancing;

/// <summary>When the live re-placement decides to move, and to what (pure).</summary>
public sealed class ExpertReplacementScheduleTests
{
    private static long[][] Skewed(int hot) => [Enumerable.Range(0, 16).Select(e => e == hot ? 400L : 10L).ToArray()];

    [Fact]
    public void Every_DecidesAfterEachNthStep_OnTheWindowsLoads_OneVersionOn()
    {
        var schedule = new ExpertReplacementSchedule(new ReplacementSettings(Every: 3, Imbalance: 0, Window: 3, Redundant: 4, Groups: 4, Nodes: 1));
        var map = ExpertReplacementSchedule.InitialMap(new ReplacementSettings(3, 0, 3, 4, 4, 1), 16, 4, 1);
        Assert.Equal(0, map.Version);
        Assert.Equal(20, map.Layers[0].Slots.Count);

        Assert.Null(schedule.Observe(0, Skewed(7), map));
        Assert.Null(schedule.Observe(1, Skewed(7), map));
        var moved = schedule.Observe(2, Skewed(7), map);

        Assert.NotNull(moved);
        Assert.Equal(1, moved.Version);
        // The hot expert gets the replicas: its rows now spread over several ranks.
        Assert.True(moved.Layers[0].Hosts(7).Count > 1);
        Assert.True(ExpertReplacementSchedule.Imbalance(moved, Skewed(7)) < ExpertReplacementSchedule.Imbalance(map, Skewed(7)));
        // The same loads again place every expert where it already is: no move.
        Assert.Null(schedule.Observe(5, Skewed(7), moved));
    }

    [Fact]
    public void Imbalance_Decides_WhenTheRankLoadsExceedTheThreshold_AtMostOncePerWindow()
    {
        var settings = new ReplacementSettings(Every: 0, Imbalance: 1.5, Window: 2, Redundant: 0, Groups: 4, Nodes: 1);
        var schedule = new ExpertReplacementSchedule(settings);
        var map = ExpertReplacementSchedule.InitialMap(settings, 16, 4, 1);
        long[][] even = [Enumerable.Repeat(10L, 16).ToArray()];
        // Experts 0..3 (all on rank 0) hot: rank 0 carries far more than the mean.
        long[][] hotRank = [Enumerable.Range(0, 16).Select(e => e < 4 ? 100L : 10L).ToArray()];
        Assert.Equal(1.0, ExpertReplacementSchedule.Imbalance(map, even));

        Assert.Null(schedule.Observe(0, even, map));
        var moved = schedule.Observe(1, hotRank, map);
        Assert.NotNull(moved);
        // No redundant slots: a permutation that spreads the four hot experts over the four ranks.
        Assert.All(Enumerable.Range(0, 4), r => Assert.Single(moved.Layers[0].Held(r), e => e < 4));
        long[][] otherHot = [Enumerable.Range(0, 16).Select(e => e is 0 or 1 or 4 or 8 ? 10L : e % 4 == 1 ? 100L : 10L).ToArray()];
        Assert.Null(schedule.Observe(2, otherHot, moved)); // within the window after the move
    }

    [Fact]
    public void Settings_WithoutAWindow_AreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExpertReplacementSchedule(new ReplacementSettings(1, 0, 0, 0, 4, 1)));

    [Fact]
    public void RankLoads_ShareAReplicatedExpertsRowsEvenly()
    {
        var map = ExpertLayerMap.Create(4, 2, [0, 1, 2, 0, 3, 0]);
        Assert.Equal([10 / 2.0 + 1 + 2, 10 / 2.0 + 3], map.RankLoads([10, 1, 2, 3]));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    public void Relabelling_MovesNoMoreCopies_KeepsEachRanksLoadsAndNodes(int seed, int nodes)
    {
        var random = new Random(seed);
        var loads = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 16).Select(_ => (double)random.Next(1, 200)).ToArray()).ToArray();
        var other = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 16).Select(_ => (double)random.Next(1, 200)).ToArray()).ToArray();
        var current = ExpertMap.From(ExpertRebalancer.Rebalance(loads, 24, 4, nodes, 8), 16, 8, 1);
        var placed = ExpertMap.From(ExpertRebalancer.Rebalance(other, 24, 4, nodes, 8), 16, 8, 2);

        var relabelled = ExpertRelabel.Keeping(placed, current, nodes);

        Assert.True(ExpertRelabel.Copies(current, relabelled) <= ExpertRelabel.Copies(current, placed));
        Assert.Equal(2, relabelled.Version);
        for (var l = 0; l < 2; l++)
        {
            // The same packs on other ranks: the same multiset of rank loads, each pack on a rank of its own node.
            Assert.Equal(placed.Layers[l].RankLoads(other[l]).Order(), relabelled.Layers[l].RankLoads(other[l]).Order());
            for (var r = 0; r < 8; r++)
            {
                var node = r / (8 / nodes);
                Assert.Contains(Enumerable.Range(node * (8 / nodes), 8 / nodes), b => placed.Layers[l].Held(b).SequenceEqual(relabelled.Layers[l].Held(r)));
            }
        }
        // A placement that is the current one up to rank order comes back as the current one.
        var shuffled = new ExpertMap(3, current.Layers.Select(layer => ExpertLayerMap.Create(16, 8,
            Enumerable.Range(0, 8).Select(r => r ^ 1).SelectMany(r => layer.Slots.Skip(3 * r).Take(3)).ToArray())).ToArray());
        Assert.True(ExpertRelabel.Keeping(shuffled, current, 1).SamePlacement(current));
    }
}
