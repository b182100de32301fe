using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// What an operator watches of each step, recorded by the job grain from rank 0's step report (the ranks step in
/// lockstep, so rank 0's wall time is the job's step time, and only rank 0's report carries the loads): step and
/// control-plane time, steps and tokens trained. Loss, throughput, MaxVio and expert load are gauges of the latest
/// step (<see cref="LatestSteps"/>).
/// </summary>
public static class StepInstruments
{
    /// <summary>Bucket bounds, in seconds, for times from a millisecond to minutes.</summary>
    internal static readonly IReadOnlyList<double> SecondsBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250];

    /// <summary><c>orchestrator.step.duration</c>: wall time of one step (rank 0), seconds; tags job, epoch.</summary>
    public static readonly Histogram<double> StepDuration = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.step.duration", "s", "Wall time of one training step on rank 0",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary><c>orchestrator.step.control.duration</c>: the step's control-plane time (the load balancer's round trip), seconds.</summary>
    public static readonly Histogram<double> ControlDuration = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.step.control.duration", "s", "Control-plane time on the step's path: rank 0's round trip to the job's load balancer",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary><c>orchestrator.steps</c>: steps completed (replayed steps after a recovery count again).</summary>
    public static readonly Counter<long> Steps = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.steps", "{step}", "Training steps completed, replays after a recovery included");

    /// <summary><c>orchestrator.tokens</c>: tokens trained by all the job's ranks (rate() of it is the job's tokens/s).</summary>
    public static readonly Counter<double> Tokens = OrchestratorTelemetry.Meter.CreateCounter<double>(
        "orchestrator.tokens", "{token}", "Tokens trained by all the job's ranks");

    /// <summary>
    /// Records rank 0's report of one step, with the job's (job, epoch) tags; <paramref name="ranks"/> is how many ranks'
    /// worth of distinct tokens the job trains (its ranks, over its pipeline stages: a pipeline's stages share rows).
    /// </summary>
    public static void Record(StepMetrics metrics, double ranks, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        StepDuration.Record(metrics.StepSeconds, tags);
        ControlDuration.Record(metrics.ControlSeconds, tags);
        Steps.Add(1, tags);
        if (double.IsFinite(metrics.TokensPerSecond) && metrics.TokensPerSecond > 0)
            Tokens.Add(metrics.TokensPerSecond * metrics.StepSeconds * ranks, tags);
    }
}
