using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Storage;

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
    /// <summary>After a membership death: the node is already out of the cluster's view.</summary>
    private static readonly TimeSpan NodeLossGrace = TimeSpan.FromMilliseconds(200);

    /// <summary>After a rank failure: time for membership to declare a dying node dead before planning around it.</summary>
    private static readonly TimeSpan RankFailureGrace = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan ReplanPeriod = TimeSpan.FromSeconds(1);

    private IGrainTimer? _replan;
    private bool _waitingReported;

    private TimeSpan RecoveryTimeout => TimeSpan.FromSeconds(_spec?.Recovery.TimeoutSeconds ?? RecoveryPolicy.Default.TimeoutSeconds);

    private int MaxRecoveries => _spec?.Recovery.MaxAttempts ?? RecoveryPolicy.Default.MaxAttempts;

    private async Task BeginRecoveryAsync(string reason, object detail, TimeSpan grace)
    {
        if (_record is null || _record.State is not (JobState.Planning or JobState.Running or JobState.Recovering)) return;
        var attempts = _record.Epoch; // epoch 1 is the first plan; every recovery adds one
        if (attempts > MaxRecoveries)
        {
            await FailAsync($"{reason}; gave up after {MaxRecoveries} recoveries", JobEvents.Failed, new { error = reason, recoveries = MaxRecoveries });
            return;
        }

        var old = _plan;
        var epoch = _record.Epoch + 1;
        if (!await MoveAsync(JobState.Recovering, epoch, reason)) return;
        _finishedRanks.Clear();
        _waitingReported = false;
        await jobStore.AppendJobEventAsync(Id, JobEvents.Recovering, JobEvents.Detail(new { epoch, reason, step = _last?.Step ?? 0, detail }));
        LogRecovering(Id, epoch, reason);
        await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).ReleaseJob(Id);
        StopInBackground(old);
        ScheduleReplan(grace);
    }

    private void ScheduleReplan(TimeSpan due)
    {
        _replan?.Dispose();
        _replan = this.RegisterGrainTimer(ReplanAsync, new GrainTimerCreationOptions(due, ReplanPeriod) { Interleave = false });
    }

    private async Task ReplanAsync(CancellationToken cancellation)
    {
        if (_record?.State != JobState.Recovering || _spec is null)
        {
            StopReplanning();
            return;
        }

        var epoch = _record.Epoch;
        RankPlan plan;
        try
        {
            var model = _spec.Run.Model();
            plan = await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).PlanJob(Id, epoch, _spec.Layout, model.ExpertGroups);
        }
        catch (JobSpecException e)
        {
            // Not enough live devices: wait, visibly, for a node to (re)join — up to the recovery timeout.
            var waited = DateTimeOffset.UtcNow - _record.UpdatedAt;
            if (waited > RecoveryTimeout)
            {
                StopReplanning();
                await FailAsync($"recovery timed out after {RecoveryTimeout.TotalSeconds:F0} s waiting for devices: {e.Message}", JobEvents.Failed,
                    new { error = e.Message, waited_s = waited.TotalSeconds });
            }
            else if (!_waitingReported)
            {
                _waitingReported = true;
                await jobStore.AppendJobEventAsync(Id, JobEvents.WaitingForNodes, JobEvents.Detail(new { epoch, reason = e.Message, timeout_s = RecoveryTimeout.TotalSeconds }));
            }
            return;
        }

        StopReplanning();
        _plan = plan;
        _lostNodesRecorded.Clear();
        await jobStore.AppendJobEventAsync(Id, JobEvents.Planned, JobEvents.Detail(plan));
        LogPlanned(Id, string.Join(", ", plan.Ranks.Select(r => $"{r.Rank}@{r.Node}/{r.Device}")));
        await StartRanksAsync(plan);
    }

    private void StopReplanning()
    {
        _replan?.Dispose();
        _replan = null;
    }

    /// <summary>Tells the old epoch's ranks to stop, without waiting: ranks on a dead node never answer.</summary>
    private void StopInBackground(RankPlan? plan)
    {
        if (plan is null) return;
        foreach (var rank in plan.Ranks)
        {
            var key = new RankKey(Id, plan.Epoch, rank.Rank, rank.Node).ToString();
            _ = GrainFactory.GetGrain<IRankGrain>(key).Stop(plan.Epoch).ContinueWith(
                t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} recovering as epoch {Epoch}: {Reason}")]
    private partial void LogRecovering(string job, long epoch, string reason);
}
