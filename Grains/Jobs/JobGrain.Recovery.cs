using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// Recovery: a lost node (or a rank failing for reasons outside it) moves the job to Recovering with the
/// next epoch — from then on every call of the old epoch's ranks is refused, so a half-dead node cannot
/// report or commit — stops what is left of the old ranks, and re-plans on the live nodes every second
/// until the plan fits (the same world size, on fewer nodes when their devices allow) or the recovery
/// times out. The new ranks resume from the last committed checkpoint.
/// </summary>
public sealed partial class JobGrain
{
    private IGrainTimer? _replan;
    private bool _waitingReported;

    /// <summary>The job's step when it last moved to Recovering: the recovering event's step, and what the steps-lost count starts from (new ranks may report before the move to Running).</summary>
    private long _recoveringFromStep;

    private TimeSpan RecoveryTimeout => TimeSpan.FromSeconds(_spec?.Recovery.TimeoutSeconds ?? RecoveryPolicy.Default.TimeoutSeconds);

    private int MaxRecoveries => _spec?.Recovery.MaxAttempts ?? RecoveryPolicy.Default.MaxAttempts;

    /// <summary>The facts the recovery guards read: the epoch (epoch 1 is the first plan; every recovery adds one) and the bound on recoveries.</summary>
    private JobFacts RecoveryFacts() => new() { Epoch = _record?.Epoch ?? 0, MaxRecoveries = MaxRecoveries };

    /// <summary>
    /// Makes <paramref name="move"/>: to Recovering with the next epoch, stopping the old ranks and re-planning
    /// after <paramref name="grace"/>; or, when the table gives up (the recoveries are used up), to Failed.
    /// </summary>
    private async Task RecoverOrGiveUpAsync(JobMove? move, string reason, object detail, TimeSpan grace)
    {
        if (_record is null || move is null) return;
        if (move.To == JobPhase.Failed)
        {
            await FailAsync(move, $"{reason}; gave up after {MaxRecoveries} recoveries", new { error = reason, recoveries = MaxRecoveries });
            return;
        }

        var old = _plan;
        var epoch = _record.Epoch + 1;
        if (!await MoveAsync(move, epoch, reason)) return;
        NoteRecovering();
        RecoveryInstruments.Recoveries.Add(1, TelemetryTags.Of(Id, epoch));
        _finishedRanks.Clear();
        _waitingReported = false;
        _recoveringFromStep = _last?.Step ?? 0;
        await RecordAsync(move, JobEvents.Recovering, JobEvents.Detail(new { epoch, reason, step = _recoveringFromStep, detail }));
        BeginRecoverySpan(epoch, reason);
        LogRecovering(Id, epoch, reason);
        await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).ReleaseJob(Id);
        StopInBackground(old);
        ScheduleReplan(grace);
    }

    private void ScheduleReplan(TimeSpan due)
    {
        _replan?.Dispose();
        _replan = this.RegisterGrainTimer(Scoped(ReplanAsync), new GrainTimerCreationOptions(due, _timing.ReplanPeriod) { Interleave = false });
    }

    private async Task ReplanAsync(CancellationToken cancellation)
    {
        if (_record is null || !JobMoves.Handles(_record.State, JobTrigger.Replanned) || _spec is null)
        {
            StopReplanning();
            return;
        }

        var epoch = _record.Epoch;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var planning = DateTimeOffset.UtcNow;
        RankPlan plan;
        try
        {
            var model = _spec.Run.Model();
            plan = await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).PlanJob(Id, epoch, _spec.Layout, model.ExpertGroups, _spec.Simulation is not null);
        }
        catch (JobSpecException e)
        {
            // Not enough live devices: wait, visibly, for a node to (re)join — up to the recovery timeout.
            var waited = DateTimeOffset.UtcNow - _record.UpdatedAt;
            var move = JobMoves.Find(_record.State, JobTrigger.NoDevices, new JobFacts { RecoveryTimedOut = waited > RecoveryTimeout, WaitReported = _waitingReported });
            if (move?.To == JobPhase.Failed)
            {
                StopReplanning();
                await FailAsync(move, $"recovery timed out after {RecoveryTimeout.TotalSeconds:F0} s waiting for devices: {e.Message}",
                    new { error = e.Message, waited_s = waited.TotalSeconds });
            }
            else if (move is not null)
            {
                _waitingReported = true;
                await RecordAsync(move, JobEvents.WaitingForNodes, JobEvents.Detail(new { epoch, reason = e.Message, timeout_s = RecoveryTimeout.TotalSeconds }));
            }
            return;
        }

        StopReplanning();
        _plan = plan;
        _lostNodesRecorded.Clear();
        await RecordAsync(JobMoves.Find(_record.State, JobTrigger.Replanned, new JobFacts())!, JobEvents.Planned, JobEvents.Detail(plan));
        TracePlan(plan, planning);
        LogPlanned(Id, clock.ElapsedMilliseconds, string.Join(", ", plan.Ranks.Select(r => $"{r.Rank}@{r.Node}/{r.Device}")));
        await StartRanksAsync(plan);
    }

    /// <summary>
    /// Records a recovery that ended with the new epoch's ranks running: its time since the move to Recovering
    /// (<paramref name="since"/>, the store's time of that move) and the steps it replays from <paramref name="resumeStep"/>.
    /// </summary>
    private void RecordRecovered(DateTimeOffset since, long epoch, long resumeStep)
    {
        var tags = TelemetryTags.Of(Id, epoch);
        RecoveryInstruments.Duration.Record(Math.Max(0, (DateTimeOffset.UtcNow - since).TotalSeconds), tags);
        RecoveryInstruments.StepsLost.Add(Math.Max(0, _recoveringFromStep - resumeStep), tags);
    }

    private void StopReplanning()
    {
        _replan?.Dispose();
        _replan = null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} recovering as epoch {Epoch}: {Reason}")]
    private partial void LogRecovering(string job, long epoch, string reason);
}
