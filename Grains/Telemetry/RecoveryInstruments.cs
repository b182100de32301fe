using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>A job's recoveries (JobGrain.Recovery.cs): how many, how long from Recovering to Running again, how many steps replayed.</summary>
public static class RecoveryInstruments
{
    private static readonly IReadOnlyList<double> RecoveryBuckets = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

    /// <summary><c>orchestrator.recoveries</c>: moves to Recovering; tags job, epoch (the new one).</summary>
    public static readonly Counter<long> Recoveries = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.recoveries", "{recovery}", "Moves of a job to Recovering (a node lost, a rank failed for reasons outside it)");

    /// <summary><c>orchestrator.recovery.duration</c>: from the move to Recovering to the ranks of the new epoch started, seconds.</summary>
    public static readonly Histogram<double> Duration = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.recovery.duration", "s", "Time from a job's move to Recovering until the new epoch's ranks run",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RecoveryBuckets });

    /// <summary><c>orchestrator.recovery.steps_lost</c>: steps trained before the recovery that the new epoch trains again.</summary>
    public static readonly Counter<long> StepsLost = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.recovery.steps_lost", "{step}", "Steps a recovery replays: the last reported step minus the resume point's step");
}
