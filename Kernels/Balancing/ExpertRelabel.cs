using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// Renumbers a new placement's ranks so that it moves as few expert copies as it can from the map in use. The rebalancer
/// packs from scratch, so which rank gets which pack is arbitrary (within a node); here each new pack goes to the rank that
/// already holds most of its experts — the pairs with the largest overlap first, ties to the lowest pack then rank — only
/// among the ranks of its node, so the hierarchical placement's groups stay on their nodes. Rank loads are unchanged (whole
/// packs are permuted), and a placement equal to the current one up to rank order comes back equal to it.
/// </summary>
public static class ExpertRelabel
{
    /// <summary><paramref name="placed"/> with each layer's rank packs permuted within each of <paramref name="nodes"/> nodes to keep the most of <paramref name="current"/>.</summary>
    public static ExpertMap Keeping(ExpertMap placed, ExpertMap current, int nodes)
    {
        ArgumentNullException.ThrowIfNull(placed);
        ArgumentNullException.ThrowIfNull(current);
        if (placed.Layers.Count != current.Layers.Count || placed.Ranks != current.Ranks || placed.Ranks % nodes != 0)
            throw new ArgumentException("the placement and the map in use must have the same layers and ranks, the ranks a multiple of the nodes", nameof(placed));
        return new ExpertMap(placed.Version, placed.Layers.Select((layer, l) => Layer(layer, current.Layers[l], nodes)).ToArray());
    }

    /// <summary>Expert copies <paramref name="to"/> puts on ranks that lack them under <paramref name="from"/> (what a move sends).</summary>
    public static int Copies(ExpertMap from, ExpertMap to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return to.Layers.Select((layer, l) => Enumerable.Range(0, to.Ranks).Sum(r => layer.Held(r).Count(e => !from.Layers[l].Holds(r, e)))).Sum();
    }

    private static ExpertLayerMap Layer(ExpertLayerMap placed, ExpertLayerMap current, int nodes)
    {
        var ranks = placed.Ranks;
        var perNode = ranks / nodes;
        var perRank = placed.SlotsPerRank;
        var assigned = new int[ranks]; // new pack → rank
        for (var n = 0; n < nodes; n++)
        {
            var packs = Enumerable.Range(n * perNode, perNode).ToArray();
            var pairs = (from b in packs
                         from r in packs
                         select (Pack: b, Rank: r, Overlap: placed.Held(b).Count(e => current.Holds(r, e))))
                .OrderByDescending(p => p.Overlap).ThenBy(p => p.Pack).ThenBy(p => p.Rank);
            var packDone = new HashSet<int>();
            var rankDone = new HashSet<int>();
            foreach (var (pack, rank, _) in pairs)
            {
                if (packDone.Contains(pack) || rankDone.Contains(rank)) continue;
                assigned[pack] = rank;
                packDone.Add(pack);
                rankDone.Add(rank);
            }
        }
        var slots = new int[placed.Slots.Count];
        for (var b = 0; b < ranks; b++)
            for (var k = 0; k < perRank; k++) slots[assigned[b] * perRank + k] = placed.Slots[b * perRank + k];
        return ExpertLayerMap.Create(placed.Experts, ranks, slots);
    }
}
