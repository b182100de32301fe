using Orchestrator.Grains.Checkpoints;
using Orchestrator.Kernels.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Storage;
using Orleans.Concurrency;
using Orleans.Configuration;
using Orleans.Placement;
using Orleans.Runtime;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// One rank of one epoch of a job, on the node named in its key. It owns the rank's training run on
/// its device executor: calls start or stop that run and return at once; the run reports each step to
/// the job itself. Fenced by the epoch in its key.
/// </summary>
[RankPlacement, Immovable, KeepAlive]
public sealed partial class RankGrain(
    DeviceExecutors executors, IOptions<NodeOptions> node, IOptions<SiloOptions> silo, IOptions<RankOptions> options, IGrainFactory grains,
    StepReportBatcher batcher, ILogger<RankGrain> logger) : Grain, IRankGrain
{
    private readonly RankMailbox _mailbox = new();
    private RankRun? _rankRun;
    private string? _stopped;
    private RankKey? _key;
    private Task? _run;
    private volatile RankOutcome? _ended;

    private RankKey Key => _key ??= RankKey.Parse(this.GetPrimaryKeyString());

    /// <inheritdoc />
    public Task Start(long epoch, RankStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        RequireEpoch(epoch);
        if (_run is not null) return Task.CompletedTask;
        if (start.Spec.Id != Key.JobId || start.Assignment.Rank != Key.Rank || start.Assignment.Node != Key.Node)
            throw new ArgumentException($"rank {Key} was sent the start of job {start.Spec.Id} rank {start.Assignment.Rank}@{start.Assignment.Node}", nameof(start));
        if (!node.Value.Devices.Contains(start.Assignment.Device, StringComparer.Ordinal))
            throw new ArgumentException($"node {node.Value.Name} has no device {start.Assignment.Device} (it has {string.Join(", ", node.Value.Devices)})", nameof(start));

        var services = new RankServices(grains, node.Value.StorageRoot, _mailbox, logger, options.Value, batcher);
        // A simulated device runs the same protocol with the compute replaced by a timed wait (control-plane scale runs).
        var run = _rankRun = DeviceSlot.IsSimulated(start.Assignment.Device) ? new SimulatedRankRun(Key, start, services)
            : start.Spec.Layout.Stages > 1 ? new PipelineRankRun(Key, start, services)
            : new RankRun(Key, start, services);
        if (_stopped is { } reason) run.Stop(reason); // stopped before it started: it ends at once
        _run = run.RunAsync(executors.For(start.Assignment.Device), ended => _ended = ended) // the job may ask for it, should the end report be lost
            .ContinueWith(_ => run.Dispose(), TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartNode(long epoch, NodeStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        RequireEpoch(epoch);
        var mine = start.Plan.Where(r => r.Node == Key.Node).ToList();
        if (mine.Count == 0 || mine[0].Rank != Key.Rank)
            throw new ArgumentException($"rank {Key} was sent the start of node {Key.Node}, whose first rank in the plan is {(mine.Count == 0 ? "none" : mine[0].Rank)}", nameof(start));
        // The node's ranks live on this silo (pinned to the node): the calls are local, and the immutable plan is shared, not copied.
        return Task.WhenAll(mine.Select(rank =>
        {
            var begin = new RankStart(start.Spec, rank, start.Spec.Layout, start.Plan, start.Resume) { TraceParent = start.TraceParent, MemoryResume = start.MemoryResume };
            return rank.Rank == Key.Rank ? Start(epoch, begin) : grains.GetGrain<IRankGrain>(new RankKey(Key.JobId, epoch, rank.Rank, rank.Node).ToString()).Start(epoch, begin);
        }));
    }

    /// <inheritdoc />
    public Task Stop(long epoch)
    {
        RequireEpoch(epoch);
        Halt($"rank {Key.Rank} was stopped");
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task Deliver(long epoch, CollectivePayload message)
    {
        ArgumentNullException.ThrowIfNull(message);
        RequireEpoch(epoch);
        _mailbox.Deliver(RankPeers.ToMessage(message));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<string> GetSiloName() => Task.FromResult(silo.Value.SiloName);

    /// <inheritdoc />
    public Task<RankOutcome?> GetOutcome(long epoch)
    {
        RequireEpoch(epoch);
        // Asked of a rank that never started here (its node restarted under a new silo): this activation exists
        // only because of the question, and is [KeepAlive]; let it go.
        if (_run is null) DeactivateOnIdle();
        return Task.FromResult(_ended);
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Halt($"rank {Key.Rank} was deactivated ({reason.Description})");
        return Task.CompletedTask;
    }

    private void Halt(string reason)
    {
        _stopped ??= reason;
        _mailbox.Abort(reason); // a rank waiting on its peers must not wait out the timeout
        _rankRun?.Stop(reason); // its next step boundary, and ncclCommAbort: a rank blocked in an NCCL collective returns
    }

    private void RequireEpoch(long epoch)
    {
        if (epoch != Key.Epoch) throw new StaleEpochException($"rank {Key}", Key.Epoch, epoch);
    }
}
