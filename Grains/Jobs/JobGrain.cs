using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// One job's state machine: Submitted → Planning → Running → Completed | Failed | Cancelled, every move
/// conditional on (state, epoch) in the store, every move an event. Ranks report steps here; a rank's
/// node dying, or a rank failing for reasons outside it, moves the job to Recovering (JobGrain.Recovery.cs).
/// </summary>
public sealed partial class JobGrain(IJobStore jobStore, IMetricStore metricStore, ILogger<JobGrain> logger) : Grain, IJobGrain
{
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
        await RestoreLastStepAsync(cancellationToken);
        // A job found again after its grain's silo died in the middle of a recovery carries on with it.
        if (_record.State == JobState.Recovering) ScheduleReplan(TimeSpan.Zero);
        Watch();
    }

    /// <summary>
    /// A new activation (its silo died, or the grain was collected) shows the last stored step as the old one
    /// did: loss, throughput, MaxVio, learning rate and step time, not zeros until the next report.
    /// </summary>
    private async Task RestoreLastStepAsync(CancellationToken cancellationToken)
    {
        var losses = await metricStore.QueryMetricsAsync(Id, new MetricQuery("loss"), cancellationToken);
        if (losses.Count == 0) return;
        var step = losses[^1].Step;
        var samples = await metricStore.QueryMetricsAsync(Id, new MetricQuery(null, step, step), cancellationToken);
        double Of(string name) => samples.LastOrDefault(m => m.Name == name)?.Value ?? 0;
        _last = new StepMetrics(step, losses[^1].Value, Of("tokens_per_s"), Of("max_vio"), Of("lr"), [])
        {
            StepSeconds = Of("step_ms") / 1000,
            ControlSeconds = Of("control_ms") / 1000,
        };
        _tokensPerSecond = _last.TokensPerSecond * (_plan?.Ranks.Count ?? 1);
    }

    /// <inheritdoc />
    public async Task<JobStatus> Submit(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Id != Id) throw new JobSpecException("id", $"the spec's id '{spec.Id}' is not this job's id '{Id}'");
        if (_record is not null) throw new JobSpecException("id", $"a job with id '{Id}' already exists ({JobPhases.Of(_record.State)})");
        var checkedSpec = JobSpecParser.Parse(JobSpecParser.ToJson(spec));
        var model = checkedSpec.Run.Model();
        var cluster = GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key);
        var plan = await cluster.PlanJob(Id, FirstEpoch, checkedSpec.Layout, model.ExpertGroups);
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
        await jobStore.AppendJobEventAsync(Id, JobEvents.Submitted);
        if (!await MoveAsync(JobState.Planning, FirstEpoch)) return Status();
        _plan = plan;
        _lostNodesRecorded.Clear();
        await jobStore.AppendJobEventAsync(Id, JobEvents.Planned, JobEvents.Detail(plan));
        LogPlanned(Id, string.Join(", ", plan.Ranks.Select(r => $"{r.Rank}@{r.Node}/{r.Device}")));
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
        if (JobPhases.IsFinal(_record.State)) return Status();
        if (await MoveAsync(JobState.Cancelled, _record.Epoch))
        {
            await jobStore.AppendJobEventAsync(Id, JobEvents.Cancelled);
            await StopRanksAsync();
        }

        return Status();
    }

    /// <inheritdoc />
    public async Task ReportStep(long epoch, int rank, StepMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        RequireEpoch(epoch);
        if (_record is null || JobPhases.IsFinal(_record.State)) return;
        Heard();
        _tokensPerSecond = metrics.TokensPerSecond * (_plan?.Ranks.Count ?? 1);
        _last = metrics;
        if (rank != 0) return;
        var at = DateTimeOffset.UtcNow;
        await metricStore.AppendMetricsAsync(Id,
        [
            new MetricSample(metrics.Step, "loss", metrics.Loss, at),
            new MetricSample(metrics.Step, "tokens_per_s", metrics.TokensPerSecond, at),
            new MetricSample(metrics.Step, "max_vio", metrics.MaxVio, at),
            new MetricSample(metrics.Step, "lr", metrics.LearningRate, at),
            new MetricSample(metrics.Step, "step_ms", metrics.StepSeconds * 1000, at),
            new MetricSample(metrics.Step, "control_ms", metrics.ControlSeconds * 1000, at),
        ]);
        await StoreExpertLoadsAsync(metrics, at);
    }

    /// <inheritdoc />
    public async Task ReportDataPlane(long epoch, int rank, string device, string dataPlane, string reason)
    {
        RequireEpoch(epoch);
        if (_record is null || JobPhases.IsFinal(_record.State)) return;
        await jobStore.AppendJobEventAsync(Id, JobEvents.DataPlane, JobEvents.Detail(new { rank, device, data_plane = dataPlane, reason, epoch }));
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
        if (_record is null || JobPhases.IsFinal(_record.State)) return;
        Heard();
        if (outcome.Error is not null)
        {
            var node = _plan?.Ranks.FirstOrDefault(r => r.Rank == rank)?.Node;
            if (outcome.Retryable && _plan is { Ranks.Count: > 1 })
                await BeginRecoveryAsync($"rank {rank} on {node} failed: {outcome.Error}", new { rank, node, error = outcome.Error }, RankFailureGrace);
            else
                await FailAsync(outcome.Error, JobEvents.Failed, new { rank, error = outcome.Error });
            return;
        }

        if (outcome.Finished) _finishedRanks.Add(rank);
        await CompleteIfDoneAsync();
    }

    /// <inheritdoc />
    public async Task NodeLost(string node)
    {
        if (_record is null || _record.State is not (JobState.Planning or JobState.Running or JobState.Recovering) || _plan is null) return;
        if (_record.State == JobState.Recovering) ScheduleReplan(TimeSpan.Zero); // in case this activation is new
        var lost = _plan.Ranks.Where(r => r.Node == node).Select(r => r.Rank).ToList();
        if (lost.Count == 0) return;
        if (_plan.Epoch != _record.Epoch)
        {
            // A rank noticed first (a failed send to the dying node) and recovery is under way: the plan being
            // recovered from lost this node. The history still names it, once; the re-plan already avoids it.
            if (_record.State == JobState.Recovering && _lostNodesRecorded.Add(node))
            {
                LogNodeLost(Id, node);
                await jobStore.AppendJobEventAsync(Id, JobEvents.NodeLost, JobEvents.Detail(new
                {
                    node, ranks = lost, step = _last?.Step ?? 0, epoch = _plan.Epoch, recovering = _record.Epoch,
                }));
            }

            return;
        }

        _lostNodesRecorded.Add(node);
        LogNodeLost(Id, node);
        await jobStore.AppendJobEventAsync(Id, JobEvents.NodeLost, JobEvents.Detail(new { node, ranks = lost, step = _last?.Step ?? 0, epoch = _record.Epoch }));
        await BeginRecoveryAsync($"node {node} died (its silo was declared dead); rank(s) {string.Join(", ", lost)} lost at step {_last?.Step ?? 0}",
            new { node, ranks = lost }, NodeLossGrace);
    }

    /// <inheritdoc />
    public Task<string> GetSiloIdentity() => Task.FromResult(RuntimeIdentity);

    private async Task StartRanksAsync(RankPlan plan)
    {
        CheckpointManifest? resume = null;
        try
        {
            // Checkpoints: the newest committed checkpoint that verifies (or the spec's resume_from), else the seed.
            resume = await GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(Id).GetResumePoint();
            foreach (var rank in plan.Ranks)
            {
                var key = new RankKey(Id, plan.Epoch, rank.Rank, rank.Node).ToString();
                await GrainFactory.GetGrain<IRankGrain>(key).Start(plan.Epoch, new RankStart(_spec!, rank, _spec!.Layout, plan.Ranks, resume));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A node may die between the plan and the start: that is another recovery, not a failure.
            if (_record?.State == JobState.Recovering && e is not JobSpecException and not ArgumentException)
                await BeginRecoveryAsync($"could not start the ranks of epoch {plan.Epoch}: {e.Message}", new { error = e.Message }, RankFailureGrace);
            else
                await FailAsync($"could not start the ranks: {e.Message}", JobEvents.Failed, new { error = e.Message });
            return;
        }

        var recovering = _record?.State == JobState.Recovering;
        if (await MoveAsync(JobState.Running, plan.Epoch))
        {
            await jobStore.AppendJobEventAsync(Id, recovering ? JobEvents.Recovered : JobEvents.Started,
                JobEvents.Detail(new { ranks = plan.Ranks.Count, nodes = plan.NodesUsed, epoch = plan.Epoch, from_step = resume?.Step ?? 0 }));
            await CompleteIfDoneAsync();
        }
    }

    private async Task CompleteIfDoneAsync()
    {
        if (_record?.State != JobState.Running || _plan is null || _finishedRanks.Count < _plan.Ranks.Count) return;
        if (await MoveAsync(JobState.Completed, _record.Epoch))
        {
            await jobStore.AppendJobEventAsync(Id, JobEvents.Completed, JobEvents.Detail(new { step = _last?.Step ?? 0, loss = _last?.Loss }));
            await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).ReleaseJob(Id);
        }
    }

    private async Task FailAsync(string reason, string kind, object detail)
    {
        if (_record is null || JobPhases.IsFinal(_record.State)) return;
        if (!await MoveAsync(JobState.Failed, _record.Epoch, reason)) return;
        await jobStore.AppendJobEventAsync(Id, kind, JobEvents.Detail(detail));
        LogFailed(Id, reason);
        await StopRanksAsync();
    }

    private async Task StopRanksAsync()
    {
        await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).ReleaseJob(Id);
        if (_plan is null) return;
        foreach (var rank in _plan.Ranks)
        {
            try
            {
                var key = new RankKey(Id, _plan.Epoch, rank.Rank, rank.Node).ToString();
                await GrainFactory.GetGrain<IRankGrain>(key).Stop(_plan.Epoch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A rank on a dead node cannot be told; its node is gone, and its epoch is fenced off.
                LogStopFailed(e, Id, rank.Rank);
            }
        }
    }

    private async Task<bool> MoveAsync(JobState to, long epoch, string? error = null)
    {
        var before = _record!;
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

    private void RequireEpoch(long epoch)
    {
        var current = _record?.Epoch ?? 0;
        if (epoch != current) throw new StaleEpochException($"job {Id}", current, epoch);
    }

    private JobStatus Status()
    {
        var record = _record!;
        return new JobStatus(Id, JobPhases.Of(record.State), record.Epoch, _last?.Step ?? 0, _spec?.Steps ?? 0,
            _last?.Loss ?? double.NaN, _tokensPerSecond, _last?.MaxVio ?? 0, record.Error, _plan, record.UpdatedAt);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} planned: {Ranks}")]
    private partial void LogPlanned(string job, string ranks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} lost node {Node}")]
    private partial void LogNodeLost(string job, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} failed: {Reason}")]
    private partial void LogFailed(string job, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} could not stop rank {Rank}")]
    private partial void LogStopFailed(Exception exception, string job, int rank);
}
