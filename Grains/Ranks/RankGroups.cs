using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The process groups of one rank in an ep × dp layout. Job rank r = d·ep + e is rank e of EP group d
/// (the ep ranks that hold every routed expert once) and rank d of the replica group of shard e (the dp
/// ranks holding the same experts). Every group has its own number, hence its own sequence space in the
/// ranks' shared mailboxes: 0 the job, 1 + d the EP groups, 1 + dp + e the replica groups.
/// </summary>
internal static class RankGroups
{
    /// <summary>The rank's expert parallelism, or null for a job of one rank.</summary>
    public static ExpertParallelism? Of(RankAssignment rank, ParallelLayout layout, int routedExperts, RankPeers peers)
    {
        var (ep, dp) = (layout.Ep, layout.Dp);
        if (ep * dp == 1) return null;
        var world = peers.Group(0, Enumerable.Range(0, ep * dp).ToArray(), rank.Rank);
        var expertGroup = dp == 1 ? world : peers.Group(1 + rank.DpRank, Enumerable.Range(0, ep).Select(e => rank.DpRank * ep + e).ToArray(), rank.Rank);
        var replicas = dp == 1 ? null : peers.Group(1 + dp + rank.EpRank, Enumerable.Range(0, dp).Select(d => d * ep + rank.EpRank).ToArray(), rank.Rank);
        return new ExpertParallelism(expertGroup, ExpertPlacement.Create(routedExperts, ep)) { World = world, Replicas = replicas };
    }
}
