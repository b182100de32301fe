using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The ranks' step reports. Rank 0's is the job's step (stored, traced, metered, alerted on) and comes alone; the other
/// ranks' say they are alive and how fast they go, and come batched per silo (<c>StepReportBatcher</c>): at 2,048
/// ranks one call per silo per step instead of one per rank.
/// </summary>
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public async Task ReportStep(long epoch, int rank, StepMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        RequireEpoch(epoch);
        if (_record is null || JobMoves.IsTerminal(_record.State)) return;
        ReportInstruments.Calls.Add(1, new KeyValuePair<string, object?>("job", Id), new KeyValuePair<string, object?>("kind", "single"));
        ReportInstruments.RankReports.Add(1, new KeyValuePair<string, object?>("job", Id));
        await TakeReportAsync(epoch, rank, metrics);
    }

    /// <inheritdoc />
    public async Task ReportSteps(long epoch, IReadOnlyList<RankStepReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        RequireEpoch(epoch);
        if (_record is null || JobMoves.IsTerminal(_record.State)) return;
        ReportInstruments.Calls.Add(1, new KeyValuePair<string, object?>("job", Id), new KeyValuePair<string, object?>("kind", "batch"));
        ReportInstruments.RankReports.Add(reports.Count, new KeyValuePair<string, object?>("job", Id));
        foreach (var report in reports)
        {
            ArgumentNullException.ThrowIfNull(report?.Metrics, nameof(reports));
            await TakeReportAsync(epoch, report.Rank, report.Metrics);
            if (_record is null || JobMoves.IsTerminal(_record.State)) return; // rank 0's report in a batch may end the job
        }
    }

    private async Task TakeReportAsync(long epoch, int rank, StepMetrics metrics)
    {
        Heard();
        Monitor.Heard(rank, System.Diagnostics.Stopwatch.GetTimestamp());
        _tokensPerSecond = metrics.TokensPerSecond * Pipelines();
        _last = metrics;
        await NoteResumedAsync(epoch, rank, metrics); // a recovery's first step: the resumed event
        if (rank != 0) return;
        NoteStep(metrics); // peer snapshots: the newest complete in-memory step; the detection time counts from here
        TraceStep(epoch, metrics);
        await StoreStepAsync(metrics);
        RecordStep(epoch, metrics);
        await AlertOnStepAsync(metrics); // rank 0's report is the job's step: its loss and MaxVio are the job's
    }
}
