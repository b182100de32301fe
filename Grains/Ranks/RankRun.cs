using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Balancing;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.DataPlane;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;
using Orleans.Runtime;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// One rank's training run in one epoch, assembled in one place (<see cref="RankRun(RankKey, RankStart, RankServices)"/>):
/// its plan entry and device, its groups, its data shard, the resume point, its checkpoint writer, its
/// reporters (step and data plane reports; checkpoint votes) and its data plane, and their lifetime. The
/// work runs on the device executor's thread as set-up, steps and end, each overridable, so a pipeline
/// stage or an expert shard extends the run instead of copying it. With ep &gt; 1 the rank holds its share
/// of the routed experts and exchanges tokens, gradients and loads with its peers through its data plane
/// (<see cref="RankDataPlane"/>: NCCL between GPU ranks, grain calls through <see cref="RankPeers"/> otherwise).
/// </summary>
internal partial class RankRun : IDisposable
{
    private readonly RankServices _services;
    private readonly ILogger _logger;
    private readonly Lazy<RunConfig> _config;
    private readonly CancellationTokenSource _stop = new();
    private readonly RankReporter _reports;
    private readonly RankReporter _votes;
    private readonly IJobGrain _job;
    private readonly ConcurrentDictionary<long, Task> _reported = new();
    private RankOutcome? _outcome;
    private readonly Stopwatch _sinceRun = new();
    private volatile bool _disposed;

    /// <summary>Builds the run of <paramref name="key"/> from its start and the node's services; nothing runs yet.</summary>
    public RankRun(RankKey key, RankStart start, RankServices services)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(services);
        (Key, Start, _services) = (key, start, services);
        _logger = services.Logger;
        // The one place the run's configuration is read from the spec; first on the device thread, so a
        // spec that does not parse fails the rank (its outcome says why) rather than its start call.
        _config = new(() => start.Spec.Run.Config());
        Groups = new ParallelGroups(start.Layout.ToLayout(), start.Assignment.Rank);
        _job = services.Grains.GetGrain<IJobGrain>(key.JobId);
        // The reporters' pumps start here and keep this logging scope: their retries' events name the job and epoch too.
        using (_logger.BeginScope(LogScope))
        {
            _reports = new RankReporter(services.Logger, services.Options.ReportRetry);
            // Checkpoint votes have their own channel: a commit never waits behind step reports (which retry
            // while the index is down), so the coordinator's own retry carries a pending commit through an outage.
            _votes = new RankReporter(services.Logger, services.Options.ReportRetry);
        }
        Checkpoints = CheckpointWriter();
        DataPlane = new RankDataPlane(services.Grains, key.JobId, key.Epoch, services.Options);
    }

    /// <summary>Which rank of which epoch of which job, on which node.</summary>
    public RankKey Key { get; }

    /// <summary>The job, the rank's place in the plan, the layout, its peers and the checkpoint to resume from, if any.</summary>
    public RankStart Start { get; }

    /// <summary>The model and training configuration of the job.</summary>
    public RunConfig Config => _config.Value;

    /// <summary>The rank's coordinates and process groups.</summary>
    public ParallelGroups Groups { get; }

    /// <summary>The device the rank computes on (e.g. <c>cuda:0</c>).</summary>
    public string Device => Start.Assignment.Device;

    /// <summary>The rank's asynchronous checkpoint writer.</summary>
    protected AsyncCheckpointer Checkpoints { get; }

    /// <summary>Builds the rank's collectives (and aborts them when the rank is stopped).</summary>
    protected RankDataPlane DataPlane { get; }

    /// <summary>Rank 0's link to the job's load balancer (null on the other ranks, and before the set-up).</summary>
    private protected GrainBiasAuthority? Authority { get; set; }

    /// <summary>The node's services (grain factory, mailbox, options, storage).</summary>
    private protected RankServices Services => _services;

    /// <summary>The storage root shared by the nodes, where checkpoint shards are read and written.</summary>
    protected string StorageRoot => _services.StorageRoot;

    /// <summary>Stops the run at the next step boundary.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>
    /// Runs the rank on <paramref name="executor"/>'s thread; then, off it, sends the last votes, hands
    /// <paramref name="ended"/> the outcome (before the end report, which may be lost) and reports the end.
    /// </summary>
    public Task RunAsync(DeviceExecutor executor, Action<RankOutcome> ended)
    {
        ArgumentNullException.ThrowIfNull(executor);
        using (_logger.BeginScope(LogScope)) LogStarting(Key.ToString(), Device);
        _sinceRun.Start();
        BeginStartSpan();
        return executor.Run(Execute).ContinueWith(async _ =>
        {
            await _votes.CompleteAsync(); // the last checkpoint vote is in before the rank says it finished
            var outcome = _outcome ?? new RankOutcome(false, $"rank {Key.Rank} on {Key.Node} did not run", 0);
            ended(outcome);
            _ = _reports.Post(() => _job.ReportFinished(Key.Epoch, Key.Rank, outcome));
            await _reports.CompleteAsync();
        }, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Stops the run: at the next step boundary, and now for a rank blocked in an NCCL collective (ncclCommAbort).</summary>
    public void Stop(string reason)
    {
        if (_disposed) return; // the run is over: nothing left to stop
        _stop.Cancel();
        DataPlane.Abort(reason);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Trains until the last step, the time limit or <see cref="Stop"/>; returns how it ended.</summary>
    protected virtual RankOutcome Train()
    {
        SetThreads();
        using var dataset = Start.Spec.Kind == JobKind.Pretrain ? TokenDataset.Open(Start.Spec.DataDirectory) : null;
        var objective = Objective(dataset);
        using var owned = objective as IDisposable; // a distill objective's teacher, a grpo objective's reference model
        using var trainer = SetUp(objective);
        Ready();
        RunSteps(() => trainer.Step, goOn => TrainStep(trainer, goOn));
        return End(trainer);
    }

    /// <summary>
    /// The trainer of the job's objective (on the rank's data shard), its collectives connected, its device chosen, restored
    /// from the resume point (or, for an sft job's parent checkpoint, started from its weights).
    /// </summary>
    protected virtual Trainer SetUp(ITrainingObjective objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        var queued = _sinceRun.Elapsed;
        var (model, training) = (Config.Model!, Config.Training!);
        // The data plane first: the ranks agree on it before any GPU work (NCCL's set-up selects the GPU itself).
        var joined = DataPlane.Connect(Start, Groups, model.RoutedExperts, Peers(), Stopping);
        var parallel = joined is null ? null : RankExperts.WithMap(joined, Start, model); // the map: the checkpoint's, or the job's first
        ReportDataPlane(DataPlane.Decision!);
        var connected = _sinceRun.Elapsed;
        var device = ComputeDevice();
        // Rank 0 asks the job's load balancer for the biases each step; the others receive its answer.
        Authority = Groups.Rank == 0 ? new GrainBiasAuthority(_services.Grains.GetGrain<ILoadBalancerGrain>(Key.JobId), Key.Epoch) : null;
        IExpertBiasAuthority biases = parallel is null ? Authority! : new BroadcastBiasAuthority(parallel.World, Authority);
        // A NaN step is always skipped inside the trainer (every rank alike, after the all-reduce); TrainStep then carries
        // on, or stops the run on it, as the spec's alerts.on_nan says.
        var trainer = new Trainer(model, training, objective, Start.Spec.Steps, parallel, biases, device)
        {
            OnNonFinite = NonFiniteSteps.Skip,
            InjectNanAtStep = Faults?.NanStep - 1, // fault injection (spec faults), never set otherwise
            SnapshotState = () => PeerSnapshots.State, // peer snapshots: voted in the step's loss all-reduce
            Placement = RankExperts.Authority(Start.Spec, model, parallel,
                Groups.Rank == 0 ? _services.Grains.GetGrain<ILoadBalancerGrain>(Key.JobId) : null, Key.Epoch), // re-placement (spec balancing)
        };
        try
        {
            var built = _sinceRun.Elapsed;
            var source = RestoreState(trainer); // peer memory, a committed checkpoint (verified), or the seed
            var restored = _sinceRun.Elapsed;
            RefillHolders(trainer, source); // the step restored goes to the holders lacking it now, not after the first snapshot
            // The balancer starts this epoch from the step and biases the ranks start from (the seed's, or the checkpoint's).
            Authority?.Begin(trainer.Step, trainer.Model.MoeLayers.Select(m => m.ExpertBias.cpu().data<float>().ToArray()).ToArray());
            // What a recovery spends before the first step, by phase (BENCHMARKS.md's recovery breakdown reads it).
            LogReady(Key.ToString(), _sinceRun.Elapsed.TotalMilliseconds, queued.TotalMilliseconds, (connected - queued).TotalMilliseconds,
                (built - connected).TotalMilliseconds, (restored - built).TotalMilliseconds, (_sinceRun.Elapsed - restored).TotalMilliseconds, source);
            Readiness = (_sinceRun.Elapsed.TotalSeconds, (restored - built).TotalSeconds);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>One step, its report and (when due) its checkpoint; whether every rank goes on.</summary>
    protected virtual bool TrainStep(Trainer trainer, Func<bool> goOn)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        return Reported(trainer.TrainStep(goOn), trainer, () => ExpertBiases.Read(trainer.Model));
    }

    /// <summary>How the run ended, once the last checkpoint write is prepared.</summary>
    protected virtual RankOutcome End(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Checkpoints.Flush(); // checkpoints: the last write is prepared before the rank reports its end
        PeerSnapshots.Flush();
        return new RankOutcome(!Stopping.IsCancellationRequested, null, trainer.Step);
    }

    /// <summary>Releases the stop token.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        _disposed = true;
        _stop.Dispose();
    }

    /// <summary>On the device thread: the run, a failure turned into its outcome, the communicators destroyed after the last collective.</summary>
    private void Execute()
    {
        // Everything the rank logs names its job and epoch; its set-up's events carry the start span's trace and span ids.
        using var scope = _logger.BeginScope(LogScope);
        Activity.Current = _startSpan;
        try
        {
            _outcome = Train();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _startSpan?.SetStatus(ActivityStatusCode.Error, e.Message);
            Ready();
            LogFailed(e, Key.ToString());
            _outcome = new RankOutcome(false, $"rank {Key.Rank} on {Key.Node}: {e.GetType().Name}: {e.Message}", e is NonFiniteLossException n ? n.Step : 0)
            {
                Retryable = e is CollectiveAbortedException or TimeoutException or OrleansException or Snapshots.SnapshotLostException,
                NonFinite = e is NonFiniteLossException,
            };
        }
        finally
        {
            DataPlane.Dispose(); // NCCL's communicator, after the rank's last collective
        }
    }

    // The silo's factory, not an activation's: the sends are made from the device thread.
    private protected RankPeers Peers() => new(_services.Grains, Key.JobId, Key.Epoch, Start.Peers, _services.Mailbox, _services.Options);

    /// <summary>Sends a report of the run's own (a pipeline stage's timeline) on the step reports' channel, retried in the background.</summary>
    private protected void Report(Func<Task> call) => _reports.Post(call);

    /// <summary>Tells the job (and the log) which data plane the rank uses.</summary>
    private protected void ReportDataPlane(DataPlaneDecision plane)
    {
        LogDataPlane(Key.ToString(), Device, plane.Name, plane.Reason);
        _reports.Post(() => _job.ReportDataPlane(Key.Epoch, Key.Rank, Device, plane.Name, plane.Reason));
    }

    /// <summary>The writer whose prepare and abort votes go to the job's checkpoint coordinator on their own channel.</summary>
    private AsyncCheckpointer CheckpointWriter()
    {
        // A step's checkpoint vote waits (a little) for that step's report: a committed checkpoint (a resume
        // point) then does not lack its step's metrics when the silo dies between the two (the kill test saw
        // it). Only a little: while the index is down the report retries, and the vote must reach the
        // coordinator, whose own retry carries the commit through the outage.
        return new AsyncCheckpointer(_services.StorageRoot, Key.JobId, Key.Epoch, Groups, VotePrepared, VoteAborted)
        {
            InjectFailureAtStep = Groups.Rank == 0 ? Faults?.CheckpointFailStep : null, // fault injection (spec faults)
        };
    }

    /// <summary>Sends the abort vote of a shard that could not be written (the coordinator aborts that step's checkpoint).</summary>
    protected void VoteAborted(long step, string reason) =>
        _votes.Post(() => _services.Grains.GetGrain<ICheckpointCoordinatorGrain>(Key.JobId).Aborted(Key.Epoch, step, Key.Rank, reason));

    /// <summary>Sends the prepare vote of a written shard to the job's checkpoint coordinator, on the votes' own channel.</summary>
    protected void VotePrepared(PreparedShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        _votes.Post(async () =>
        {
            if (_reported.TryGetValue(shard.Step, out var report)) await Task.WhenAny(report, Task.Delay(_services.Options.ReportWait));
            foreach (var step in _reported.Keys.Where(s => s <= shard.Step)) _reported.TryRemove(step, out _);
            await _services.Grains.GetGrain<ICheckpointCoordinatorGrain>(Key.JobId).Prepared(Key.Epoch, shard);
        });
    }
}
