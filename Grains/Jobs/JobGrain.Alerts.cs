using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's alerts (spec <c>alerts</c>): each one raised — by the step reports (<see cref="AlertMonitor"/>), by the stall
/// watch (a grain timer over every rank's last report), by a rank stopping on a NaN loss, or by the checkpoint
/// coordinator (<see cref="RaiseAlert"/>) — is recorded as an <c>alert</c> event, logged as a warning, kept in the status
/// (the latest <see cref="KeptAlerts"/>) and counted in <c>orchestrator.alerts</c>.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>How many alerts the status keeps (the history keeps them all).</summary>
    private const int KeptAlerts = 50;

    /// <summary>How often the stall watch looks at the ranks' last reports.</summary>
    private static readonly TimeSpan StallCheckPeriod = TimeSpan.FromSeconds(1);

    private readonly List<JobAlert> _alerts = [];
    private AlertMonitor? _monitor;
    private IGrainTimer? _stallWatch;

    private AlertMonitor Monitor => _monitor ??= new AlertMonitor(_spec?.Alerts ?? AlertPolicy.Default);

    /// <inheritdoc />
    public Task RaiseAlert(JobAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return _record is null ? Task.CompletedTask : RaiseAsync(alert);
    }

    /// <summary>Records, logs, keeps and counts one alert.</summary>
    private async Task RaiseAsync(JobAlert alert)
    {
        _alerts.Add(alert);
        if (_alerts.Count > KeptAlerts) _alerts.RemoveRange(0, _alerts.Count - KeptAlerts);
        LogAlert(Id, alert.Kind, alert.Step, alert.Message);
        AlertMetrics.Count(Id, alert.Kind);
        var values = alert.Values.ToDictionary(v => v.Key, v => double.IsFinite(v.Value) ? v.Value : (double?)null, StringComparer.Ordinal); // JSON has no NaN
        await jobStore.AppendJobEventAsync(Id, JobEvents.Alert, JobEvents.Detail(new { kind = alert.Kind, step = alert.Step, message = alert.Message, values }));
    }

    /// <summary>Rank 0's report of a step: the alerts it starts, if any (a NaN loss, a spike, MaxVio held high).</summary>
    private async Task AlertOnStepAsync(StepMetrics metrics)
    {
        foreach (var alert in Monitor.OnStep(metrics, DateTimeOffset.UtcNow)) await RaiseAsync(alert);
    }

    /// <summary>A rank stopped on a NaN loss: the alert says what the spec's <c>alerts.on_nan</c> makes of it.</summary>
    private Task AlertOnNonFiniteAsync(int rank, RankOutcome outcome, bool rollingBack) =>
        RaiseAsync(new JobAlert(JobAlert.LossNan, outcome.Step + 1,
            $"rank {rank} stopped on a non-finite loss; {(rollingBack ? "the job rolls back to its last committed checkpoint (alerts.on_nan: rollback)" : "the job fails (alerts.on_nan: fail)")}: {outcome.Error}",
            new Dictionary<string, double>(StringComparer.Ordinal) { ["rank"] = rank, ["rollback"] = rollingBack ? 1 : 0 }, DateTimeOffset.UtcNow));

    /// <summary>The plan's ranks start: the stall watch counts them all as just heard and starts (once) its timer.</summary>
    private void WatchStalls(RankPlan plan)
    {
        Monitor.Start(plan.Ranks.Count, Stopwatch.GetTimestamp());
        _stallWatch ??= this.RegisterGrainTimer(CheckStallsAsync, new GrainTimerCreationOptions(StallCheckPeriod, StallCheckPeriod) { Interleave = false });
    }

    private async Task CheckStallsAsync(CancellationToken cancellation)
    {
        if (_record is null || JobMoves.IsTerminal(_record.State))
        {
            _stallWatch?.Dispose();
            _stallWatch = null;
            return;
        }

        if (_record.State != JobPhase.Running) return; // a recovery stops the ranks on purpose
        if (Monitor.CheckStalls(Stopwatch.GetTimestamp(), _last?.Step ?? 0, DateTimeOffset.UtcNow) is { } alert) await RaiseAsync(alert);
    }

    /// <summary>A new activation shows the alerts the history holds (the latest <see cref="KeptAlerts"/>).</summary>
    private void RestoreAlerts(IEnumerable<JobEvent> events)
    {
        foreach (var e in events.Where(e => e.Kind == JobEvents.Alert && e.DetailJson is not null).TakeLast(KeptAlerts))
        {
            using var detail = JsonDocument.Parse(e.DetailJson!);
            var root = detail.RootElement;
            var values = root.GetProperty("values").EnumerateObject()
                .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN, StringComparer.Ordinal);
            _alerts.Add(new JobAlert(root.GetProperty("kind").GetString()!, root.GetProperty("step").GetInt64(), root.GetProperty("message").GetString()!, values, e.At));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} alert {Kind} at step {Step}: {Message}")]
    private partial void LogAlert(string job, string kind, long step, string message);
}
