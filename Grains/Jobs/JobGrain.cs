using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// One job's state machine: Submitted → Planning → Running → Completed | Failed | Cancelled, every move a row
/// of <see cref="JobMoves"/> (found by phase, trigger and guard), conditional on (phase, epoch) in the store,
/// recording the row's events. Ranks report steps here; a rank's node dying, or a rank failing for reasons
/// outside it, moves the job to Recovering (JobGrain.Recovery.cs).
/// </summary>
public sealed partial class JobGrain(IJobStore jobStore, IMetricStore metricStore, IOptions<JobTimingOptions> timing, ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private readonly JobTimingOptions _timing = timing.Value;
    private const long FirstEpoch = 1;
    private readonly HashSet<int> _finishedRanks = [];

    /// <summary>The nodes of the current plan whose loss the history already records.</summary>
    private readonly HashSet<string> _lostNodesRecorded = new(StringComparer.Ordinal);
    private JobRecord? _record;
    private JobSpec? _spec;
    private RankPlan? _plan;
    private StepMetrics? _last;
    private double _tokensPerSecond;

    private string Id => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _record = await jobStore.GetJobAsync(Id, cancellationToken);
        if (_record is null) return;
        _spec = JobSpecParser.Parse(_record.SpecJson);
        var events = await jobStore.ListJobEventsAsync(Id, cancellationToken: cancellationToken);
        _plan = JobEvents.ReadPlan(events.LastOrDefault(e => e.Kind == JobEvents.Planned)?.DetailJson);
        ResumeTrace(events);
        RestoreAlerts(events);
        if (_plan is not null && _record.State == JobPhase.Running) WatchStalls(_plan);
        await RestoreLastStepAsync(cancellationToken);
        // A job found again after its grain's silo died in the middle of a recovery carries on with it.
        if (_record.State == JobPhase.Recovering) ScheduleReplan(TimeSpan.Zero);
        Watch();
    }

    /// <inheritdoc />
    public async Task<JobStatus> Submit(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Id != Id) throw new JobSpecException("id", $"the spec's id '{spec.Id}' is not this job's id '{Id}'");
        if (_record is not null) throw new JobSpecException("id", $"a job with id '{Id}' already exists ({_record.State})");
        var checkedSpec = JobSpecParser.Parse(JobSpecParser.ToJson(spec));
        var model = checkedSpec.Run.Model();
        await CheckKindAsync(checkedSpec); // the kind runs on ranks, its data reads, its parent checkpoint is committed
        // The job's trace starts here (a child of the caller's span, when the caller traces).
        using var submit = JobTrace.Start(JobTrace.Submit, Id, FirstEpoch);
        var cluster = GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var planning = DateTimeOffset.UtcNow;
        var plan = await cluster.PlanJob(Id, FirstEpoch, checkedSpec.Layout, model.ExpertGroups, checkedSpec.Simulation is not null);
        try
        {
            _record = await jobStore.TryCreateJobAsync(Id, JobSpecParser.ToJson(checkedSpec))
                ?? throw new JobSpecException("id", $"a job with id '{Id}' already exists");
        }
        catch
        {
            await cluster.ReleaseJob(Id);
            throw;
        }

        _spec = checkedSpec;
        await RecordAsync(JobMoves.Find(null, JobTrigger.Submit, new JobFacts())!, JobEvents.Submitted, BeginTrace(submit));
        var planned = JobMoves.Find(_record.State, JobTrigger.Plan, new JobFacts())!;
        if (!await MoveAsync(planned, FirstEpoch)) return Status();
        _plan = plan;
        _lostNodesRecorded.Clear();
        await RecordAsync(planned, JobEvents.Planned, JobEvents.Detail(plan));
        TracePlan(plan, planning);
        LogPlanned(Id, clock.ElapsedMilliseconds, string.Join(", ", plan.Ranks.Select(r => $"{r.Rank}@{r.Node}/{r.Device}")));
        await StartRanksAsync(plan);
        Watch();
        return Status();
    }

    /// <inheritdoc />
    public Task<JobStatus> GetStatus()
    {
        if (_record is null) throw new KeyNotFoundException($"no job '{Id}'");
        CheckIndexWhenQuiet();
        return Task.FromResult(Status());
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobEventView>> GetEvents()
    {
        var events = await jobStore.ListJobEventsAsync(Id);
        return events.Select(e => new JobEventView(e.Seq, e.At, e.Kind, e.DetailJson)).ToList();
    }

    /// <inheritdoc />
    public async Task<JobStatus> Cancel()
    {
        if (_record is null) throw new KeyNotFoundException($"no job '{Id}'");
        if (JobMoves.IsTerminal(_record.State)) return Status(); // cancelling an ended job is no error: it shows how it ended
        var move = JobMoves.Find(_record.State, JobTrigger.Cancel, new JobFacts())!;
        if (await MoveAsync(move, _record.Epoch))
        {
            await RecordAsync(move, JobEvents.Cancelled);
            EndRecoverySpan("cancelled");
            await StopRanksAsync();
        }

        return Status();
    }

    /// <inheritdoc />
    public Task ReportFinished(long epoch, int rank, RankOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        RequireEpoch(epoch);
        return HandleFinishedAsync(rank, outcome);
    }

    /// <summary>A rank of the current epoch ended (it said so, or the watch asked it).</summary>
    private async Task HandleFinishedAsync(int rank, RankOutcome outcome)
    {
        if (_record is null || JobMoves.IsTerminal(_record.State)) return;
        Heard();
        if (outcome.Error is not null)
        {
            if (!JobMoves.Handles(_record.State, JobTrigger.RankFailed)) return;
            var node = _plan?.Ranks.FirstOrDefault(r => r.Rank == rank)?.Node;
            // A NaN loss with alerts.on_nan: rollback is recovered from as a lost rank is (any rank count: the checkpoint mends it).
            var rollback = outcome.NonFinite && _spec?.Alerts.OnNan == NonFiniteLossAction.Rollback;
            var retryable = rollback || (outcome.Retryable && _plan is { Ranks.Count: > 1 });
            var move = JobMoves.Find(_record.State, JobTrigger.RankFailed, RecoveryFacts() with { Retryable = retryable })!;
            if (outcome.NonFinite) await AlertOnNonFiniteAsync(rank, outcome, rollback && move.To == JobPhase.Recovering);
            if (rollback)
            {
                // The commits in flight land first (the last good checkpoint may be the one just written), then the new epoch fences them.
                await GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(Id).Drain(_timing.AskTimeout);
                await RecoverOrGiveUpAsync(move, $"rollback: rank {rank} stopped on a non-finite loss: {outcome.Error}",
                    new { rank, node, error = outcome.Error, rollback = true }, TimeSpan.Zero);
            }
            else if (retryable)
                await RecoverOrGiveUpAsync(move, $"rank {rank} on {node} failed: {outcome.Error}", new { rank, node, error = outcome.Error }, _timing.RankFailureGrace);
            else
                await FailAsync(move, outcome.Error, new { rank, error = outcome.Error });
            return;
        }

        Monitor.Finished(rank);
        if (outcome.Finished) _finishedRanks.Add(rank);
        await CompleteIfDoneAsync();
    }

    /// <inheritdoc />
    public async Task NodeLost(string node)
    {
        if (_record is null || !JobMoves.Handles(_record.State, JobTrigger.NodeLost) || _plan is null) return;
        if (_record.State == JobPhase.Recovering) ScheduleReplan(TimeSpan.Zero); // in case this activation is new
        var lost = _plan.Ranks.Where(r => r.Node == node).Select(r => r.Rank).ToList();
        if (lost.Count == 0) return;
        // Not the current epoch's plan: a rank noticed first (a failed send to the dying node) and recovery is under
        // way from the plan that lost this node. The history still names it, once; the re-plan already avoids it.
        var current = _plan.Epoch == _record.Epoch;
        var move = JobMoves.Find(_record.State, JobTrigger.NodeLost, RecoveryFacts() with
        {
            NodeInCurrentPlan = current,
            NodeInOldPlanUnrecorded = !current && !_lostNodesRecorded.Contains(node),
        });
        if (move is null) return;
        _lostNodesRecorded.Add(node);
        LogNodeLost(Id, node);
        var step = _last?.Step ?? 0;
        await RecordAsync(move, JobEvents.NodeLost, current
            ? JobEvents.Detail(new { node, ranks = lost, step, epoch = _record.Epoch })
            : JobEvents.Detail(new { node, ranks = lost, step, epoch = _plan.Epoch, recovering = _record.Epoch }));
        if (current)
            await RecoverOrGiveUpAsync(move, $"node {node} died (its silo was declared dead); rank(s) {string.Join(", ", lost)} lost at step {step}",
                new { node, ranks = lost }, _timing.NodeLossGrace);
    }

    /// <inheritdoc />
    public Task<string> GetSiloIdentity() => Task.FromResult(RuntimeIdentity);

    private async Task CompleteIfDoneAsync()
    {
        if (_record is null || _plan is null || !JobMoves.Handles(_record.State, JobTrigger.RankFinished)) return;
        var move = JobMoves.Find(_record.State, JobTrigger.RankFinished, new JobFacts { AllRanksFinished = _finishedRanks.Count >= _plan.Ranks.Count });
        if (move is not null && await MoveAsync(move, _record.Epoch))
        {
            await RecordAsync(move, JobEvents.Completed, JobEvents.Detail(new { step = _last?.Step ?? 0, loss = _last?.Loss }));
            await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).ReleaseJob(Id);
            ForgetSnapshots();
        }
    }

    /// <summary>Makes <paramref name="move"/>, a move to Failed, with <paramref name="reason"/> as the job's error.</summary>
    private async Task FailAsync(JobMove move, string reason, object detail)
    {
        if (_record is null || JobMoves.IsTerminal(_record.State)) return;
        if (!await MoveAsync(move, _record.Epoch, reason)) return;
        await RecordAsync(move, JobEvents.Failed, JobEvents.Detail(detail));
        EndRecoverySpan(reason);
        LogFailed(Id, reason);
        await StopRanksAsync();
    }

    /// <summary>
    /// Makes <paramref name="move"/> in the store, conditional on this activation's (phase, epoch); false when
    /// someone else moved the job first. Only rows of the table move a job, and only from their own phase.
    /// </summary>
    private async Task<bool> MoveAsync(JobMove move, long epoch, string? error = null)
    {
        var before = _record!;
        if (move.From != before.State) throw new InvalidOperationException($"job {Id} is {before.State}, not {move.From}: cannot make the move {move}");
        var to = move.To;
        if (JobMoves.IsTerminal(to)) await FlushDataPlanesAsync(); // the history has every rank's data plane before the end
        _moving++;
        try
        {
            Heard();
            if (await jobStore.TryTransitionJobAsync(new JobTransition(Id, before.State, before.Epoch, to, epoch, error)))
            {
                _record = before with { State = to, Epoch = epoch, Error = error, UpdatedAt = DateTimeOffset.UtcNow };
                return true;
            }

            // Someone else moved the job (another activation, a stale node): believe the store.
            _record = await jobStore.GetJobAsync(Id) ?? before;
            return false;
        }
        finally
        {
            _moving--;
            Heard();
        }
    }

    /// <summary>Appends one of <paramref name="move"/>'s events to the history: the table says what a move records.</summary>
    private async Task RecordAsync(JobMove move, string kind, string? detailJson = null)
    {
        if (!move.Records.Contains(kind)) throw new InvalidOperationException($"job {Id}: the move {move} does not record '{kind}'");
        await jobStore.AppendJobEventAsync(Id, kind, detailJson);
    }

    private void RequireEpoch(long epoch)
    {
        var current = _record?.Epoch ?? 0;
        if (epoch != current) throw new StaleEpochException($"job {Id}", current, epoch);
    }

    private JobStatus Status()
    {
        var record = _record!;
        return new JobStatus(Id, record.State, record.Epoch, _last?.Step ?? 0, _spec?.Steps ?? 0,
            _last?.Loss ?? double.NaN, _tokensPerSecond, _last?.MaxVio ?? 0, record.Error, _plan, record.UpdatedAt)
        {
            Alerts = [.. _alerts],
            MaxVioWindow = _maxVioWindow,
            MemoryStep = _memoryStep,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} planned and recorded in {Ms} ms: {Ranks}")]
    private partial void LogPlanned(string job, long ms, string ranks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} lost node {Node}")]
    private partial void LogNodeLost(string job, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} failed: {Reason}")]
    private partial void LogFailed(string job, string reason);
}
