using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// The ranks' collectives (all-to-all, all-gather, all-reduce) on the data plane: bytes this rank sent into them
/// and how long each took, tagged by job, collective and transport (no rank tag: see <see cref="CheckpointInstruments"/>).
/// </summary>
public static class DataPlaneInstruments
{
    /// <summary><c>orchestrator.collective.duration</c>: one collective call on one rank, seconds.</summary>
    public static readonly Histogram<double> Duration = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.collective.duration", "s", "Time of one collective call on one rank, waiting for its peers included",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepInstruments.SecondsBuckets });

    /// <summary><c>orchestrator.collective.bytes</c>: bytes a rank put into its collectives.</summary>
    public static readonly Counter<long> Bytes = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.collective.bytes", "By", "Bytes a rank put into its collectives");

    /// <summary>The tags of one (job, collective, transport).</summary>
    public static KeyValuePair<string, object?>[] Tags(string job, string collective, string transport) =>
        [new(TelemetryTags.Job, job), new(TelemetryTags.Collective, collective), new(TelemetryTags.Transport, transport)];

    /// <summary>Records one call that began at <paramref name="start"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp) and put <paramref name="bytes"/> in.</summary>
    public static void Record(long start, long bytes, KeyValuePair<string, object?>[] tags)
    {
        Duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds, tags);
        Bytes.Add(bytes, tags);
    }
}
