using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A rank's link to the other ranks of its epoch: its mailbox, and sending to a peer as a call to
/// that peer's <see cref="IRankGrain.Deliver"/> (the Orleans transport of the data plane).
/// </summary>
internal sealed class RankPeers(IGrainFactory grains, string jobId, long epoch, IReadOnlyList<RankAssignment> peers, RankMailbox mailbox, RankOptions options)
{
    public RankMailbox Mailbox => mailbox;

    /// <summary>The collective of <paramref name="rank"/> among the first <paramref name="worldSize"/> ranks.</summary>
    public ICollective Collective(int rank, int worldSize) => new MailboxCollective(rank, worldSize, mailbox, Send, options.PeerTimeout, abortWait: options.AbortNoticeWait);

    /// <summary>
    /// The collective of a sub-group of the job's ranks: <paramref name="members"/> are job ranks in group
    /// order, <paramref name="group"/> a number unique among the job's groups (its sequence space).
    /// </summary>
    public ICollective Group(int group, IReadOnlyList<int> members, int rank) =>
        new MailboxCollective(members.ToList().IndexOf(rank), members.Count, mailbox, Send, options.PeerTimeout, group, members, options.AbortNoticeWait);

    /// <summary>Point-to-point stage links among <paramref name="members"/> (a pipeline group), in the group's sequence space of the mailbox.</summary>
    public IStageLink StageLink(int group, IReadOnlyList<int> members, int rank) =>
        new MailboxStageLink(members.ToList().IndexOf(rank), members.Count, mailbox, Send, options.PeerTimeout, group, members);

    private Task Send(int to, CollectiveMessage message)
    {
        var peer = peers[to];
        var key = new RankKey(jobId, epoch, peer.Rank, peer.Node).ToString();
        return grains.GetGrain<IRankGrain>(key).Deliver(epoch, ToPayload(message));
    }

    public static CollectivePayload ToPayload(CollectiveMessage m) =>
        new(m.Sequence, m.Source, m.Shape, m.DType, m.Data, m.Integers, m.Abort);

    public static CollectiveMessage ToMessage(CollectivePayload p) =>
        new(p.Sequence, p.Source, p.Shape, p.DType, p.Data, p.Integers, p.Abort);
}
