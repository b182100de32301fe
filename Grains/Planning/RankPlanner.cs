using System.Globalization;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Planning;

/// <summary>
/// Places the ep × dp ranks of a job on live nodes' device slots. Consecutive EP ranks are packed onto
/// as few nodes as possible, and an EP group spans k nodes only if the model's expert groups divide
/// evenly over them (n_expert_groups % k == 0), so that V3's node-limited routing (at most M groups, i.e.
/// nodes, per token) maps groups to nodes. Pure: the same nodes give the same plan.
/// </summary>
public static class RankPlanner
{
    /// <summary>Plans the ranks of <paramref name="layout"/> for epoch <paramref name="epoch"/>.</summary>
    /// <exception cref="JobSpecException">The ranks cannot be placed; the message says why.</exception>
    public static RankPlan Plan(long epoch, ParallelLayout layout, int expertGroups, IReadOnlyList<NodeSlots> nodes)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(nodes);
        var groups = Math.Max(expertGroups, 1);

        // Most free slots first, then by name, so that the outcome is deterministic and groups pack tightly.
        var free = nodes.Where(n => n.FreeDevices.Count > 0)
            .OrderByDescending(n => n.FreeDevices.Count).ThenBy(n => n.Name, StringComparer.Ordinal)
            .ToDictionary(n => n.Name, n => new Queue<string>(n.FreeDevices), StringComparer.Ordinal);
        var total = free.Values.Sum(q => q.Count);
        if (total < layout.Ranks)
        {
            throw new JobSpecException("parallel", string.Create(CultureInfo.InvariantCulture,
                $"ep × dp = {layout.Ep} × {layout.Dp} needs {layout.Ranks} device slots; the live nodes have {total} free ({Describe(free)})"));
        }

        // EP groups in rank order (stage, then replica): each is placed as one, its members in group order.
        var ranks = new List<RankAssignment>(layout.Ranks);
        foreach (var group in ParallelGroups.ExpertGroups(layout))
        {
            var replica = layout.CoordinatesOf(group.Members[0]).Data;
            var spread = PlaceGroup(group.Members.Count, groups, free)
                ?? throw new JobSpecException("parallel", Refusal(layout, replica, groups, free));
            var member = 0;
            foreach (var node in spread.Nodes)
            {
                for (var i = 0; i < spread.PerNode; i++, member++)
                {
                    var rank = group.Members[member];
                    var at = layout.CoordinatesOf(rank);
                    ranks.Add(new RankAssignment(rank, at.Expert, at.Data, node, free[node].Dequeue()));
                }
            }
        }

        var used = ranks.Select(r => r.Node).Distinct(StringComparer.Ordinal).ToList();
        return new RankPlan(epoch, ranks, used);
    }

    private sealed record Spread(IReadOnlyList<string> Nodes, int PerNode);

    private static Spread? PlaceGroup(int ep, int groups, Dictionary<string, Queue<string>> free)
    {
        for (var k = 1; k <= ep; k++)
        {
            if (ep % k != 0 || groups % k != 0) continue;
            var perNode = ep / k;
            var chosen = free.Where(n => n.Value.Count >= perNode)
                .OrderByDescending(n => n.Value.Count).ThenBy(n => n.Key, StringComparer.Ordinal)
                .Take(k).Select(n => n.Key).ToList();
            if (chosen.Count == k)
            {
                chosen.Sort(StringComparer.Ordinal);
                return new Spread(chosen, perNode);
            }
        }

        return null;
    }

    private static string Refusal(ParallelLayout layout, int dp, int groups, Dictionary<string, Queue<string>> free) =>
        string.Create(CultureInfo.InvariantCulture,
            $"cannot place the {layout.Ep} EP ranks of DP replica {dp}: an EP group must span k nodes with ep/k free slots each, k dividing both ep ({layout.Ep}) and n_expert_groups ({groups}); free slots: {Describe(free)}");

    private static string Describe(Dictionary<string, Queue<string>> free) =>
        free.Count == 0 ? "no live node has a free slot" : string.Join(", ", free.Select(n => $"{n.Key}: {n.Value.Count}"));
}
