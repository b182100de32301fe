using Orchestrator.Grains.Checkpoints;
using Orchestrator.Kernels.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Hosting;
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
    DeviceExecutors executors, IOptions<NodeOptions> node, IOptions<SiloOptions> silo, IGrainFactory grains, ILogger<RankGrain> logger) : Grain, IRankGrain
{
    /// <summary>How long a checkpoint vote waits for its step's report before it goes anyway.</summary>
    private static readonly TimeSpan ReportWait = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _stop = new();
    private readonly RankMailbox _mailbox = new();
    private RankDataPlane? _dataPlane;
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

        var job = GrainFactory.GetGrain<IJobGrain>(Key.JobId);
        var reporter = new RankReporter(logger);
        // Checkpoint votes have their own channel: a commit never waits behind step reports (which retry
        // while the index is down), so the coordinator's own retry carries a pending commit through an outage.
        var votes = new RankReporter(logger);
        var root = node.Value.StorageRoot;
        var coordinator = GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(Key.JobId);
        // A step's checkpoint vote waits (a little) for that step's report: a committed checkpoint (a resume
        // point) then does not lack its step's metrics when the silo dies between the two (the kill test saw
        // it). Only a little: while the index is down the report retries, and the vote must reach the
        // coordinator, whose own retry carries the commit through the outage.
        var reported = new System.Collections.Concurrent.ConcurrentDictionary<long, Task>();
        var checkpoints = new AsyncCheckpointer(root, Key.JobId, epoch, Key.Rank,
            shard => votes.Post(async () =>
            {
                if (reported.TryGetValue(shard.Step, out var report)) await Task.WhenAny(report, Task.Delay(ReportWait));
                foreach (var step in reported.Keys.Where(s => s <= shard.Step)) reported.TryRemove(step, out _);
                await coordinator.Prepared(epoch, shard);
            }),
            (step, reason) => votes.Post(() => coordinator.Aborted(epoch, step, Key.Rank, reason)), start.Assignment.DpRank);
        var stop = _stop.Token;
        var dataPlane = _dataPlane = new RankDataPlane(grains, Key.JobId, epoch);
        LogStarting(Key.ToString(), start.Assignment.Device);
        RankOutcome? outcome = null;
        _run = executors.For(start.Assignment.Device)
            .Run(() =>
            {
                try
                {
                    // The silo's factory, not this activation's: the sends are made from the device thread.
                    var peers = new RankPeers(grains, Key.JobId, epoch, start.Peers, _mailbox);
                    var balancer = grains.GetGrain<ILoadBalancerGrain>(Key.JobId);
                    outcome = RankTraining.Run(start, root, checkpoints, m =>
                        {
                            var report = reporter.Post(() => job.ReportStep(epoch, Key.Rank, m));
                            if (start.Spec.Checkpoint.IsDue(m.Step)) reported[m.Step] = report;
                        }, peers,
                        dataPlane, plane =>
                        {
                            LogDataPlane(Key.ToString(), start.Assignment.Device, plane.Name, plane.Reason);
                            reporter.Post(() => job.ReportDataPlane(epoch, Key.Rank, start.Assignment.Device, plane.Name, plane.Reason));
                        }, balancer, epoch, stop);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    LogFailed(e, Key.ToString());
                    outcome = new RankOutcome(false, $"rank {Key.Rank} on {Key.Node}: {e.GetType().Name}: {e.Message}", 0)
                    {
                        Retryable = e is CollectiveAbortedException or TimeoutException or OrleansException,
                    };
                }
                finally
                {
                    dataPlane.Dispose(); // NCCL's communicator, after the rank's last collective
                }
            })
            .ContinueWith(async _ =>
            {
                await votes.CompleteAsync(); // the last checkpoint vote is in before the rank says it finished
                var ended = outcome ?? new RankOutcome(false, $"rank {Key.Rank} on {Key.Node} did not run", 0);
                _ended = ended; // the job may ask for it, should this report be lost
                _ = reporter.Post(() => job.ReportFinished(epoch, Key.Rank, ended));
                await reporter.CompleteAsync();
            }, TaskScheduler.Default).Unwrap();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task Stop(long epoch)
    {
        RequireEpoch(epoch);
        _stop.Cancel();
        _mailbox.Abort($"rank {Key.Rank} was stopped"); // a rank waiting on its peers must not wait out the timeout
        _dataPlane?.Abort($"rank {Key.Rank} was stopped"); // ncclCommAbort: a rank blocked in an NCCL collective returns
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
        _stop.Cancel();
        _mailbox.Abort($"rank {Key.Rank} was deactivated ({reason.Description})");
        _dataPlane?.Abort($"rank {Key.Rank} was deactivated ({reason.Description})");
        return Task.CompletedTask;
    }

    private void RequireEpoch(long epoch)
    {
        if (epoch != Key.Epoch) throw new StaleEpochException($"rank {Key}", Key.Epoch, epoch);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} starts on device {Device}")]
    private partial void LogStarting(string rank, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} on {Device}: data plane: {DataPlane} ({Reason})")]
    private partial void LogDataPlane(string rank, string device, string dataPlane, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rank {Rank} failed")]
    private partial void LogFailed(Exception exception, string rank);
}
