using Orchestrator.Grains;
using Orchestrator.Grains.Planning;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Cluster.Tests.Planning;

public sealed class RankPlannerTests
{
    private static NodeSlots Node(string name, int devices, string kind = "cuda") =>
        new(name, Enumerable.Range(0, devices).Select(i => $"{kind}:{i}").ToList());

    [Fact]
    public void ConsecutiveEpRanks_ArePackedOnOneNode_WhenItHasTheSlots()
    {
        var plan = RankPlanner.Plan(1, new ParallelLayout(4, 2), 8, [Node("n1", 4), Node("n2", 4)]);

        Assert.Equal(Enumerable.Range(0, 8), plan.Ranks.Select(r => r.Rank));
        Assert.All(plan.Ranks.Take(4), r => Assert.Equal("n1", r.Node));
        Assert.All(plan.Ranks.Skip(4), r => Assert.Equal("n2", r.Node));
        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], plan.Ranks.Select(r => r.EpRank));
        Assert.Equal(["cuda:0", "cuda:1", "cuda:2", "cuda:3"], plan.Ranks.Take(4).Select(r => r.Device));
        Assert.Equal(["n1", "n2"], plan.NodesUsed);
    }

    [Fact]
    public void AnEpGroup_SpansNodes_OnlyAsManyAsDivideTheExpertGroups()
    {
        // ep 8 over nodes of 4 slots: two nodes, and 8 expert groups divide over 2 nodes (4 groups per node).
        var plan = RankPlanner.Plan(1, new ParallelLayout(8, 1), 8, [Node("a", 4), Node("b", 4), Node("c", 4)]);

        Assert.Equal(["a", "a", "a", "a", "b", "b", "b", "b"], plan.Ranks.Select(r => r.Node));
    }

    [Fact]
    public void ASingleRank_GoesToTheNodeWithTheMostFreeSlots()
    {
        var plan = RankPlanner.Plan(3, new ParallelLayout(1, 1), 8, [Node("n1", 1, "cpu"), Node("n2", 2, "cpu")]);

        var rank = Assert.Single(plan.Ranks);
        Assert.Equal(("n2", "cpu:0", 3L), (rank.Node, rank.Device, plan.Epoch));
    }

    [Fact]
    public void TooFewSlots_IsRefused_SayingHowManyAreFree()
    {
        var e = Assert.Throws<JobSpecException>(() => RankPlanner.Plan(1, new ParallelLayout(4, 1), 8, [Node("n1", 2), Node("n2", 1)]));

        Assert.StartsWith("parallel:", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs 4 device slots", e.Message, StringComparison.Ordinal);
        Assert.Contains("n1: 2, n2: 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpertGroupsThatDoNotDivideOverTheNodes_AreRefused()
    {
        // ep 4 needs two nodes of 2 slots, but 3 expert groups cannot map onto 2 nodes.
        var e = Assert.Throws<JobSpecException>(() => RankPlanner.Plan(1, new ParallelLayout(4, 1), 3, [Node("n1", 2), Node("n2", 2)]));

        Assert.Contains("n_expert_groups (3)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoLiveNodes_AreRefused()
    {
        var e = Assert.Throws<JobSpecException>(() => RankPlanner.Plan(1, new ParallelLayout(1, 1), 1, []));

        Assert.Contains("no live node has a free slot", e.Message, StringComparison.Ordinal);
    }
}
