using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>The exchange plan of a layer's map (pure): every row goes to exactly one copy of its expert, as planned on both ends.</summary>
public sealed class ExpertRoutesTests
{
    private static long[][] Counts(int world, int experts, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, world).Select(_ => Enumerable.Range(0, experts).Select(_ => (long)random.Next(0, 9)).ToArray()).ToArray();
    }

    [Fact]
    public void IdentityMap_SendsInSortedOrder_ToTheFormulaOwner()
    {
        var counts = Counts(4, 16, 1);
        var map = ExpertLayerMap.Identity(ExpertPlacement.Create(16, 4));
        for (var rank = 0; rank < 4; rank++)
        {
            var routes = ExpertRoutes.Plan(counts, map, rank);
            Assert.Null(routes.SendOrder);
            for (var d = 0; d < 4; d++) Assert.Equal(counts[rank].Skip(4 * d).Take(4).Sum(), routes.Send[d]);
            Assert.Equal(Enumerable.Range(4 * rank, 4), routes.Held);
            Assert.Equal(Enumerable.Range(4 * rank, 4).Select(e => counts.Sum(c => c[e])), routes.Sizes);
            Assert.Equal(Enumerable.Range(0, 16).Max(e => counts.Sum(c => c[e])), routes.Largest);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ReplicatedMap_SendsEveryRowOnce_AndSplitsAnExpertInContiguousParts(int seed)
    {
        const int world = 4, experts = 8;
        var random = new Random(seed);
        // Every expert once, then 4 extra slots of random experts; shuffled over the ranks.
        var slots = Enumerable.Range(0, experts).Concat(Enumerable.Range(0, 4).Select(_ => random.Next(experts))).OrderBy(_ => random.Next()).ToArray();
        var map = ExpertLayerMap.Create(experts, world, slots);
        var counts = Counts(world, experts, seed);
        var plans = Enumerable.Range(0, world).Select(r => ExpertRoutes.Plan(counts, map, r)).ToArray();

        for (var s = 0; s < world; s++)
        {
            var rows = counts[s].Sum();
            Assert.Equal(rows, plans[s].Send.Sum());
            // A permutation of the source's sorted rows.
            Assert.Equal(Enumerable.Range(0, (int)rows).Select(i => (long)i), (plans[s].SendOrder ?? Enumerable.Range(0, (int)rows).Select(i => (long)i).ToArray()).Order());
            // What s sends to d is what d expects from s.
            for (var d = 0; d < world; d++) Assert.Equal(plans[s].Send[d], plans[d].Receive[s]);
        }

        for (var e = 0; e < experts; e++)
        {
            var total = counts.Sum(c => c[e]);
            var hosts = map.Hosts(e);
            var parts = hosts.Select(h => plans[h].Sizes[plans[h].Held.ToList().IndexOf(e)]).ToArray();
            Assert.Equal(total, parts.Sum());
            // Near-equal, the first parts the longer ones.
            Assert.True(parts.Max() - parts.Min() <= 1);
            Assert.Equal(parts.OrderByDescending(p => p), parts);
        }
    }

    [Fact]
    public void Map_LeavingAnExpertWithoutASlot_IsRefusedNamingIt()
    {
        var error = Assert.Throws<ArgumentException>(() => ExpertLayerMap.Create(4, 2, [0, 1, 1, 2]));
        Assert.Contains("experts 3 have no slot", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ExpertLayerMap.Create(4, 2, [0, 1, 2, 3, 1]));
        Assert.Throws<ArgumentException>(() => ExpertLayerMap.Create(4, 2, [0, 1, 2, 4]));
    }
}
