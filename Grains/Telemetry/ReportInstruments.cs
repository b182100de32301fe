using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// The step reports' fan-in to a job grain: the calls it takes and the rank reports they carry. Without batching the
/// two are equal (a call per rank per step); with the silos' <c>StepReportBatcher</c> a call carries a silo's ranks.
/// </summary>
public static class ReportInstruments
{
    /// <summary><c>orchestrator.job.report_calls</c>: step-report calls a job grain took; tags job, <c>kind</c> single or batch.</summary>
    public static readonly Counter<long> Calls = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.job.report_calls", "{call}", "Step-report calls a job grain took (one rank's, or a silo's batch)");

    /// <summary><c>orchestrator.job.rank_reports</c>: rank step reports those calls carried; tag job.</summary>
    public static readonly Counter<long> RankReports = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.job.rank_reports", "{report}", "Rank step reports the job grain's report calls carried");
}
