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
}
