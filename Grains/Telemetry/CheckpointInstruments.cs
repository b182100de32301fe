using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// A rank's checkpoint writes (the <c>AsyncCheckpointer</c>): how long training stood still for the snapshot, and how
/// fast the shard went to storage; and the coordinator's commits. Tagged by job only: at 2,048 ranks a rank tag would
/// multiply every histogram's buckets by the ranks, and each silo's series already say which node wrote.
/// </summary>
public static class CheckpointInstruments
{
    private static readonly IReadOnlyList<double> BandwidthBuckets =
        [1e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2.5e9, 5e9, 1e10];

    /// <summary><c>orchestrator.checkpoint.stall</c>: how long one checkpoint held training up (the previous write, then the snapshot), seconds.</summary>
    public static readonly Histogram<double> Stall = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.checkpoint.stall", "s", "How long a rank's checkpoint held its training up: waiting for the previous write, then the snapshot to host memory",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepInstruments.SecondsBuckets });

    /// <summary><c>orchestrator.checkpoint.write.duration</c>: from the snapshot to the shard's rename, seconds.</summary>
    public static readonly Histogram<double> WriteDuration = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.checkpoint.write.duration", "s", "Time from a rank's snapshot to its shard written, hashed, fsynced and renamed",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepInstruments.SecondsBuckets });

    /// <summary><c>orchestrator.checkpoint.write.bandwidth</c>: a shard's bytes over its write time.</summary>
    public static readonly Histogram<double> WriteBandwidth = OrchestratorTelemetry.Meter.CreateHistogram<double>(
        "orchestrator.checkpoint.write.bandwidth", "By/s", "A shard's bytes over its write time",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = BandwidthBuckets });

    /// <summary><c>orchestrator.checkpoint.write.bytes</c>: bytes of shards written.</summary>
    public static readonly Counter<long> WriteBytes = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.checkpoint.write.bytes", "By", "Bytes of checkpoint shards written");

    /// <summary><c>orchestrator.checkpoint.commits</c>: checkpoints committed by the job's coordinator.</summary>
    public static readonly Counter<long> Commits = OrchestratorTelemetry.Meter.CreateCounter<long>(
        "orchestrator.checkpoint.commits", "{checkpoint}", "Checkpoints committed (every rank's shard written, the manifest in the index)");

    /// <summary>Records a shard of <paramref name="bytes"/> written in <paramref name="seconds"/>.</summary>
    public static void RecordWrite(long bytes, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        WriteDuration.Record(seconds, tags);
        WriteBytes.Add(bytes, tags);
        if (seconds > 0) WriteBandwidth.Record(bytes / seconds, tags);
    }
}
