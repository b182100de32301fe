using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The process groups of one rank in an ep × dp layout. Job rank r = d·ep + e is rank e of EP group d
/// (the ep ranks that hold every routed expert once) and rank d of the replica group of shard e (the dp
/// ranks holding the same experts). Every group has its own number, hence its own sequence space in the
/// ranks' shared mailboxes and its own NCCL communicator: 0 the job, 1 + d the EP groups, 1 + dp + e the
/// replica groups.
/// </summary>
internal static class RankGroups
{
    /// <summary>A process group: its number and its members (job ranks) in group order.</summary>
    public sealed record Group(int Number, int[] Members);

    /// <summary>The rank's groups: the whole job, its EP group (the job when dp = 1), its replica group (null when dp = 1).</summary>
    public static (Group World, Group Expert, Group? Replicas) Of(RankAssignment rank, ParallelLayout layout)
    {
        var (ep, dp) = (layout.Ep, layout.Dp);
        var world = new Group(0, Enumerable.Range(0, ep * dp).ToArray());
        if (dp == 1) return (world, world, null);
        var expert = new Group(1 + rank.DpRank, Enumerable.Range(0, ep).Select(e => rank.DpRank * ep + e).ToArray());
        var replicas = new Group(1 + dp + rank.EpRank, Enumerable.Range(0, dp).Select(d => d * ep + rank.EpRank).ToArray());
        return (world, expert, replicas);
    }

    /// <summary>The rank's expert parallelism over grain calls (mailboxes), or null for a job of one rank.</summary>
    public static ExpertParallelism? Of(RankAssignment rank, ParallelLayout layout, int routedExperts, RankPeers peers)
    {
        if (layout.Ep * layout.Dp == 1) return null;
        var (world, expert, replicas) = Of(rank, layout);
        var worldGroup = peers.Group(world.Number, world.Members, rank.Rank);
        var expertGroup = expert == world ? worldGroup : peers.Group(expert.Number, expert.Members, rank.Rank);
        var replicaGroup = replicas is null ? null : peers.Group(replicas.Number, replicas.Members, rank.Rank);
        return new ExpertParallelism(expertGroup, ExpertPlacement.Create(routedExperts, layout.Ep)) { World = worldGroup, Replicas = replicaGroup };
    }
}
