using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's trace and log context. Its spans (<see cref="JobTrace"/>) are children of the submit span, whose
/// context the <c>submitted</c> event keeps, so a new activation on another silo goes on in the same trace. Every
/// call and timer tick runs in a logging scope carrying the job id and its epoch of the moment
/// (<see cref="JobLogScope"/>), so every event logged on the job's behalf — the store's, the retries' — names them.
/// One span per recorded step (rank 0's report), never one per rank.
/// </summary>
public sealed partial class JobGrain : IIncomingGrainCallFilter
{
    private ActivityContext _trace;
    private string? _traceParent;
    private Activity? _recovery;
    private JobLogScope? _logScope;

    private JobLogScope LogScope => _logScope ??= new JobLogScope(Id, () => _record?.Epoch ?? 0);

    /// <summary>Every call to the job runs in its logging scope.</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using (logger.BeginScope(LogScope)) await context.Invoke();
    }

    /// <summary>A timer callback run in the job's logging scope (timer ticks are not calls: the filter does not see them).</summary>
    private Func<CancellationToken, Task> Scoped(Func<CancellationToken, Task> tick) => async cancellation =>
    {
        using (logger.BeginScope(LogScope)) await tick(cancellation);
    };

    /// <summary>Keeps <paramref name="submit"/>'s context as the job's trace; the submitted event's detail carries it.</summary>
    private string? BeginTrace(Activity? submit)
    {
        _traceParent = JobTrace.TraceParent(submit);
        _trace = JobTrace.Context(_traceParent);
        return JobTrace.SubmittedDetail(_traceParent);
    }

    /// <summary>A new activation finds the job's trace in its history, and a recovery under way goes on as a span.</summary>
    private void ResumeTrace(IEnumerable<Storage.JobEvent> events)
    {
        _traceParent = JobTrace.FromSubmittedDetail(events.FirstOrDefault(e => e.Kind == JobEvents.Submitted)?.DetailJson);
        _trace = JobTrace.Context(_traceParent);
        if (_record is { State: JobPhase.Recovering } record)
            BeginRecoverySpan(record.Epoch, record.Error ?? "recovery found under way by a new activation", record.UpdatedAt);
    }

    /// <summary>The span of one recorded step: it ends now and lasted the step's own time.</summary>
    private void TraceStep(long epoch, StepMetrics metrics)
    {
        if (!OrchestratorTelemetry.Source.HasListeners()) return;
        var start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(Math.Max(0, metrics.StepSeconds));
        using var span = JobTrace.Start(JobTrace.Step, Id, epoch, _trace, start);
        span?.SetTag(JobTrace.StepTag, metrics.Step).SetTag("loss", metrics.Loss).SetTag("control_ms", metrics.ControlSeconds * 1000);
    }

    /// <summary>The span of a plan made since <paramref name="since"/> (a re-plan's is a child of the recovery).</summary>
    private void TracePlan(RankPlan plan, DateTimeOffset since)
    {
        using var span = JobTrace.Start(JobTrace.Plan, Id, plan.Epoch, _recovery?.Context ?? _trace, since);
        span?.SetTag("ranks", plan.Ranks.Count).SetTag("nodes", string.Join(",", plan.NodesUsed));
    }

    /// <summary>Opens the recovery's span (ended by <see cref="EndRecoverySpan"/>), left out of the current context.</summary>
    private void BeginRecoverySpan(long epoch, string reason, DateTimeOffset since = default)
    {
        _recovery?.Dispose();
        _recovery = JobTrace.StartDetached(JobTrace.Recovery, Id, epoch, _trace, since);
        _recovery?.SetTag("reason", reason);
    }

    /// <summary>Ends the recovery's span: the new epoch's ranks started, or the job ended (then with <paramref name="error"/>).</summary>
    private void EndRecoverySpan(string? error = null)
    {
        if (_recovery is null) return;
        if (error is not null) _recovery.SetStatus(ActivityStatusCode.Error, error);
        _recovery.Dispose();
        _recovery = null;
    }
}
