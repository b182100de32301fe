using Orchestrator.Grains.DataPlane;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// One rank's data plane for one epoch: chooses it (<see cref="DataPlaneChoice"/>, the ranks agreeing over
/// grain calls on whether libnccl loads), builds its collectives — mailboxes fed by grain calls, or NCCL
/// communicators (one per process group) whose unique ids the groups' first ranks publish through the job's
/// <see cref="INcclRendezvousGrain"/>, one per group of the rank's <see cref="ParallelGroups"/> — and
/// aborts them when the rank is stopped, so a rank blocked in a collective returns. Every collective it hands out
/// records its bytes and time (<see cref="MeteredCollective"/>).
/// </summary>
internal sealed class RankDataPlane(IGrainFactory grains, string jobId, long epoch, RankOptions options) : IDisposable
{
    private readonly object _gate = new();
    private readonly List<NcclCollective> _communicators = [];
    private string? _aborted;

    /// <summary>What <see cref="Connect"/> chose; null before.</summary>
    public DataPlaneDecision? Decision { get; private set; }

    /// <summary>
    /// Chooses and builds the rank's collectives, on its device thread (it blocks: the agreement, the id
    /// exchange, NCCL's set-up). Null for a job of one rank.
    /// </summary>
    public ExpertParallelism? Connect(RankStart start, ParallelGroups groups, int routedExperts, RankPeers peers, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(groups);
        var mode = start.Spec.DataPlane;
        var decision = DataPlaneChoice.FromPlan(mode, groups.Layout, start.Peers);
        if (decision.Kind == DataPlaneKind.Nccl)
        {
            var loaded = NcclNative.TryLoad();
            var agreement = peers.Group(ParallelGroups.AgreementGroup(groups.Layout), groups.World.Members, groups.Rank);
            var flags = agreement.AllGather([loaded ? 1 : 0]);
            decision = DataPlaneChoice.Agree(mode, decision, flags.Select(f => f[0] == 1).ToArray());
        }
        Decision = decision;
        return decision.Kind switch
        {
            DataPlaneKind.Nccl => Communicators(start, groups, routedExperts, stop),
            DataPlaneKind.Grains => Mailboxes(groups, routedExperts, peers),
            _ => null,
        };
    }

    /// <summary>Breaks the rank's NCCL communicators (ncclCommAbort), now or as soon as they exist.</summary>
    public void Abort(string reason)
    {
        NcclCollective[] communicators;
        lock (_gate)
        {
            _aborted ??= reason;
            communicators = [.. _communicators];
        }
        foreach (var c in communicators) c.Abort(reason);
    }

    /// <summary>Destroys the communicators once the rank's work is done.</summary>
    public void Dispose()
    {
        NcclCollective[] communicators;
        lock (_gate)
        {
            communicators = [.. _communicators];
            _communicators.Clear();
        }
        foreach (var c in communicators) c.Dispose();
    }

    /// <summary>
    /// One communicator per process group of the rank: the job, then (dp &gt; 1) its EP group and its replica
    /// group, joined in that order on every rank (a communicator's set-up waits for all its members, and
    /// every member finishes the earlier ones first, so no rank waits on one that waits on it).
    /// </summary>
    private ExpertParallelism Communicators(RankStart start, ParallelGroups groups, int routedExperts, CancellationToken stop) =>
        Build(groups, routedExperts, group => new MeteredCollective(Join(start, group, stop), jobId, "nccl"));

    /// <summary>The rank's collectives over grain calls (mailboxes), one sequence space per group.</summary>
    private ExpertParallelism Mailboxes(ParallelGroups groups, int routedExperts, RankPeers peers) =>
        Build(groups, routedExperts, group => new MeteredCollective(peers.Group(group.Number, group.Members, groups.Rank), jobId, "grains"));

    /// <summary>The job's collective, then the EP group's (the job's itself when they are one group), then the replicas'.</summary>
    private static ExpertParallelism Build(ParallelGroups groups, int routedExperts, Func<ProcessGroup, ICollective> join)
    {
        var world = join(groups.World);
        var experts = groups.Experts == groups.World ? world : join(groups.Experts);
        var replicas = groups.Replicas is { } r ? join(r) : null;
        return new ExpertParallelism(experts, ExpertPlacement.Create(routedExperts, groups.Layout.Ep)) { World = world, Replicas = replicas };
    }

    /// <summary>The group's first rank publishes a fresh id through the job's rendezvous grain, the others fetch it; then all join.</summary>
    private NcclCollective Join(RankStart start, ProcessGroup group, CancellationToken stop)
    {
        var rendezvous = grains.GetGrain<INcclRendezvousGrain>(jobId);
        var rank = group.IndexOf(start.Assignment.Rank);
        byte[] id;
        if (rank == 0)
        {
            id = NcclNative.CreateUniqueId();
            rendezvous.Publish(epoch, group.Number, id).GetAwaiter().GetResult();
        }
        else
        {
            id = NcclRendezvous.FetchAsync(rendezvous, epoch, group.Number, options.NcclIdTimeout, options.NcclIdPoll, stop).GetAwaiter().GetResult();
        }
        var device = CudaDevice.IndexOf(start.Assignment.Device)
            ?? throw new DataPlaneException($"rank {start.Assignment.Rank} is on {start.Assignment.Device}, not on a GPU");
        var nccl = new NcclCollective(id, rank, group.Members.Count, device);
        string? aborted;
        lock (_gate)
        {
            aborted = _aborted;
            if (aborted is null) _communicators.Add(nccl);
        }
        if (aborted is null) return nccl;
        nccl.Abort(aborted);
        nccl.Dispose();
        throw new CollectiveAbortedException(aborted);
    }
}
