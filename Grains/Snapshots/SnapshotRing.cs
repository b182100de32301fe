namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// Which nodes hold a rank's peer snapshot: its own node (where a surviving rank's copy is read back without the
/// network) and the next <c>checkpoint.memory_copies</c> nodes of a ring over the plan's nodes (in the order their first
/// ranks appear, which the planner fixes), so every copy beyond the first is on another node. A plan on one node has
/// no buddy: nothing is held, since a node loss would take every copy with it.
/// </summary>
public static class SnapshotRing
{
    /// <summary>The holders of the ranks on <paramref name="node"/> (own node first); empty when the plan has one node.</summary>
    public static IReadOnlyList<string> HoldersOf(string node, IReadOnlyList<RankAssignment> plan, int copies)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var nodes = plan.OrderBy(r => r.Rank).Select(r => r.Node).Distinct(StringComparer.Ordinal).ToList();
        var at = nodes.IndexOf(node);
        if (nodes.Count < 2 || copies < 1 || at < 0) return [];
        return [.. Enumerable.Range(0, 1 + Math.Min(copies, nodes.Count - 1)).Select(i => nodes[(at + i) % nodes.Count])];
    }

    /// <summary>Every node that holds some rank's snapshot under <paramref name="plan"/> (empty on one node).</summary>
    public static IReadOnlyList<string> Nodes(IReadOnlyList<RankAssignment> plan, int copies)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return [.. plan.Select(r => r.Node).Distinct(StringComparer.Ordinal).Where(n => HoldersOf(n, plan, copies).Count > 0)];
    }
}
