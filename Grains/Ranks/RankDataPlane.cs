using Orchestrator.Grains.DataPlane;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// One rank's data plane for one epoch: chooses it (<see cref="DataPlaneChoice"/>, the ranks agreeing over
/// grain calls on whether libnccl loads), builds its collectives — mailboxes fed by grain calls, or an NCCL
/// communicator whose unique id rank 0 publishes through the job's <see cref="INcclRendezvousGrain"/> — and
/// aborts them when the rank is stopped, so a rank blocked in a collective returns.
/// </summary>
internal sealed class RankDataPlane(IGrainFactory grains, string jobId, long epoch) : IDisposable
{
    private readonly object _gate = new();
    private NcclCollective? _nccl;
    private string? _aborted;

    /// <summary>What <see cref="Connect"/> chose; null before.</summary>
    public DataPlaneDecision? Decision { get; private set; }

    /// <summary>
    /// Chooses and builds the rank's collectives, on its device thread (it blocks: the agreement, the id
    /// exchange, NCCL's set-up). Null for a job of one rank.
    /// </summary>
    public ExpertParallelism? Connect(RankStart start, int routedExperts, RankPeers peers, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(start);
        var mode = start.Spec.DataPlane;
        var decision = DataPlaneChoice.FromPlan(mode, start.Layout, start.Peers);
        if (decision.Kind == DataPlaneKind.Nccl)
        {
            var loaded = NcclNative.TryLoad();
            var everyone = Enumerable.Range(0, start.Peers.Count).ToArray();
            var agreement = peers.Group(AgreementGroup(start.Layout), everyone, start.Assignment.Rank);
            var flags = agreement.AllGather([loaded ? 1 : 0]);
            decision = DataPlaneChoice.Agree(mode, decision, flags.Select(f => f[0] == 1).ToArray());
        }
        Decision = decision;
        return decision.Kind switch
        {
            DataPlaneKind.Nccl => new ExpertParallelism(Join(start, stop), ExpertPlacement.Create(routedExperts, start.Layout.Ep)),
            DataPlaneKind.Grains => RankGroups.Of(start.Assignment, start.Layout, routedExperts, peers),
            _ => null,
        };
    }

    /// <summary>Breaks the rank's NCCL communicator (ncclCommAbort), now or as soon as it exists.</summary>
    public void Abort(string reason)
    {
        NcclCollective? nccl;
        lock (_gate)
        {
            _aborted ??= reason;
            nccl = _nccl;
        }
        nccl?.Abort(reason);
    }

    /// <summary>Destroys the communicator once the rank's work is done.</summary>
    public void Dispose()
    {
        NcclCollective? nccl;
        lock (_gate)
        {
            nccl = _nccl;
            _nccl = null;
        }
        nccl?.Dispose();
    }

    /// <summary>A group number no <see cref="RankGroups"/> group uses (they take 0 to ep + dp), for the one agreement all-gather.</summary>
    internal static int AgreementGroup(ParallelLayout layout) => 1 + layout.Ep + layout.Dp;

    private NcclCollective Join(RankStart start, CancellationToken stop)
    {
        var rendezvous = grains.GetGrain<INcclRendezvousGrain>(jobId);
        var rank = start.Assignment.Rank;
        byte[] id;
        if (rank == 0)
        {
            id = NcclNative.CreateUniqueId();
            rendezvous.Publish(epoch, id).GetAwaiter().GetResult();
        }
        else
        {
            id = NcclRendezvous.FetchAsync(rendezvous, epoch, NcclRendezvous.Timeout, stop).GetAwaiter().GetResult();
        }
        var device = CudaDevice.IndexOf(start.Assignment.Device)
            ?? throw new DataPlaneException($"rank {rank} is on {start.Assignment.Device}, not on a GPU");
        var nccl = new NcclCollective(id, rank, start.Peers.Count, device);
        string? aborted;
        lock (_gate)
        {
            aborted = _aborted;
            if (aborted is null) _nccl = nccl;
        }
        if (aborted is null) return nccl;
        nccl.Abort(aborted);
        nccl.Dispose();
        throw new CollectiveAbortedException(aborted);
    }
}
