using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>
/// <see cref="ParallelGroups"/> against a brute-force enumeration, for every layout of at most 256 ranks
/// (pp, ep, dp, and virtual stages up to 4 where pp &gt; 1), every rank.
/// </summary>
public sealed class ParallelGroupsTests
{
    private const int MaxRanks = 256;

    private static IEnumerable<ParallelLayout> Layouts()
    {
        for (var pp = 1; pp <= MaxRanks; pp++)
            for (var ep = 1; pp * ep <= MaxRanks; ep++)
                for (var dp = 1; pp * ep * dp <= MaxRanks; dp++)
                    yield return new ParallelLayout(ep, dp, pp);
    }

    /// <summary>Every rank's coordinates by nested loops in rank order: stage, then replica, then EP place.</summary>
    private static ParallelCoordinates[] Enumerate(ParallelLayout layout)
    {
        var all = new List<ParallelCoordinates>();
        for (var s = 0; s < layout.Stages; s++)
            for (var d = 0; d < layout.Dp; d++)
                for (var e = 0; e < layout.Ep; e++)
                    all.Add(new ParallelCoordinates(s, d, e));
        return [.. all];
    }

    /// <summary>For each rank, the ranks that share its <paramref name="key"/>, in rank order.</summary>
    private static int[][] Sharing<TKey>(ParallelCoordinates[] all, Func<ParallelCoordinates, TKey> key) where TKey : notnull
    {
        var groups = Enumerable.Range(0, all.Length).GroupBy(r => key(all[r])).ToDictionary(g => g.Key, g => g.ToArray());
        return all.Select(c => groups[key(c)]).ToArray();
    }

    [Fact]
    public void EveryLayoutUpTo256Ranks_MatchesTheBruteForceEnumeration()
    {
        var layouts = 0;
        foreach (var layout in Layouts())
        {
            layouts++;
            var all = Enumerate(layout);
            var rankAt = Enumerable.Range(0, all.Length).ToDictionary(r => all[r]);
            var (stages, experts, replicas, pipelines) = (Sharing(all, c => c.Stage), Sharing(all, c => (c.Stage, c.Data)),
                Sharing(all, c => (c.Stage, c.Expert)), Sharing(all, c => (c.Data, c.Expert)));
            Assert.Equal(all.Length, layout.Ranks);
            var groups = Enumerable.Range(0, all.Length).Select(r => new ParallelGroups(layout, r)).ToArray();
            var byNumber = new Dictionary<int, ProcessGroup>();
            foreach (var g in groups)
            {
                var rank = g.Rank;
                Assert.Equal(all[rank], g.At);
                Assert.Equal(rank, layout.RankOf(g.At));
                Same(Enumerable.Range(0, all.Length), g.World.Members);
                Same(stages[rank], g.Stage.Members);
                Same(experts[rank], g.Experts.Members);
                Same(layout.Dp == 1 ? null : replicas[rank], g.Replicas?.Members);
                Same(layout.Stages == 1 ? null : pipelines[rank], g.Pipeline?.Members);
                Assert.Equal(all[rank].Stage + 1 < layout.Stages ? (int?)rankAt[all[rank] with { Stage = all[rank].Stage + 1 }] : null, g.NextStageRank);
                Assert.Equal(all[rank].Stage > 0 ? (int?)rankAt[all[rank] with { Stage = all[rank].Stage - 1 }] : null, g.PreviousStageRank);
                Assert.Equal(Array.IndexOf(stages[rank], rank), g.DataShard);
                Assert.Equal(layout.Ep * layout.Dp, g.DataShards);
                // Virtual stages change only where a chunk's activations go.
                for (var v = 2; v <= 4 && layout.Stages > 1; v++) CheckChunks(new ParallelLayout(layout.Ep, layout.Dp, layout.Stages, v), rankAt, g.Rank);
                CheckChunks(layout, rankAt, g.Rank);
                foreach (var group in new[] { g.World, g.Stage, g.Experts, g.Replicas, g.Pipeline }.OfType<ProcessGroup>())
                {
                    Assert.Contains(rank, group.Members);
                    // One number, one set of members: every member's view of a group is the same group, and no two groups share a number.
                    if (byNumber.TryGetValue(group.Number, out var seen)) Assert.Equal(seen, group);
                    else byNumber[group.Number] = group;
                }
            }
            Assert.DoesNotContain(ParallelGroups.AgreementGroup(layout), byNumber.Keys);
            AssertPartitions(all.Length, groups.Select(g => g.Experts));
            AssertPartitions(all.Length, groups.Select(g => g.Stage));
            if (layout.Dp > 1) AssertPartitions(all.Length, groups.Select(g => g.Replicas!));
            if (layout.Stages > 1) AssertPartitions(all.Length, groups.Select(g => g.Pipeline!));
            Assert.Equal(groups.Select(g => g.Experts).Distinct(), ParallelGroups.ExpertGroups(layout));
            if (layout.Stages == 1) AssertLegacyNumbers(layout, groups);
        }
        Assert.True(layouts > 1000, $"only {layouts} layouts were checked");
    }

    /// <summary>The same members in the same order (cheaper than xunit's collection comparer, over some 2 million groups).</summary>
    private static void Same(IEnumerable<int>? expected, IReadOnlyList<int>? actual)
    {
        if (expected is null || actual is null) Assert.True(expected is null && actual is null, "one group is null, the other is not");
        else if (!expected.SequenceEqual(actual)) Assert.Fail($"expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
    }

    /// <summary>The groups of one kind cover every rank once.</summary>
    private static void AssertPartitions(int ranks, IEnumerable<ProcessGroup> groups)
    {
        var members = groups.Distinct().SelectMany(g => g.Members).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, ranks), members);
    }

    /// <summary>pp = 1: the numbers and members the wire has always carried (rank r = d·ep + e: 0, 1 + d, 1 + dp + e, agreement 1 + ep + dp).</summary>
    private static void AssertLegacyNumbers(ParallelLayout layout, ParallelGroups[] groups)
    {
        var (ep, dp) = (layout.Ep, layout.Dp);
        Assert.Equal(1 + ep + dp, ParallelGroups.AgreementGroup(layout));
        foreach (var g in groups)
        {
            var (d, e) = (g.Rank / ep, g.Rank % ep);
            Assert.Equal((0, d, e), (g.At.Stage, g.At.Data, g.At.Expert));
            Assert.Same(g.World, g.Stage);
            Assert.Null(g.Pipeline);
            Assert.Equal(g.Rank, g.DataShard);
            if (dp == 1)
            {
                Assert.Same(g.World, g.Experts);
                Assert.Null(g.Replicas);
                continue;
            }
            Assert.Equal(new ProcessGroup(1 + d, Enumerable.Range(0, ep).Select(i => d * ep + i).ToArray()), g.Experts);
            Assert.Equal(new ProcessGroup(1 + dp + e, Enumerable.Range(0, dp).Select(i => i * ep + e).ToArray()), g.Replicas);
        }
    }

    /// <summary>Interleaved chunks: chunk c of stage s is virtual stage c·pp + s; activations go to the next virtual stage's rank, same replica and EP place.</summary>
    private static void CheckChunks(ParallelLayout layout, Dictionary<ParallelCoordinates, int> rankAt, int rank)
    {
        var g = new ParallelGroups(layout, rank);
        var total = layout.Stages * layout.VirtualStages;
        for (var chunk = 0; chunk < layout.VirtualStages; chunk++)
        {
            var virtualStage = chunk * layout.Stages + g.At.Stage;
            Assert.Equal(virtualStage, g.VirtualStageOf(chunk));
            (int, int)? At(int v) => v < 0 || v >= total ? null : (rankAt[g.At with { Stage = v % layout.Stages }], v / layout.Stages);
            Assert.Equal(At(virtualStage + 1), g.NextOf(chunk));
            Assert.Equal(At(virtualStage - 1), g.PreviousOf(chunk));
        }
    }

    [Theory]
    [InlineData(0, 1, 1, 1, "ep")]
    [InlineData(1, 0, 1, 1, "dp")]
    [InlineData(1, 1, 0, 1, "pp")]
    [InlineData(1, 1, 2, 0, "virtualStages")]
    [InlineData(1, 1, 1, 2, "virtualStages")]
    [InlineData(65536, 65536, 1, 1, "ep")]
    public void ImpossibleLayouts_AreRefused_NamingTheField(int ep, int dp, int pp, int virtualStages, string field)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new ParallelLayout(ep, dp, pp, virtualStages));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void RanksOutsideTheLayout_AreRefused()
    {
        var layout = new ParallelLayout(2, 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParallelGroups(layout, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParallelGroups(layout, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.RankOf(new ParallelCoordinates(0, 2, 0)));
    }
}
