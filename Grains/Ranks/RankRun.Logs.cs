using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// What a rank's run logs — its start, its ready time by phase, its data plane, its failure — in a scope naming its
/// job and epoch; and its one span, <see cref="JobTrace.RankStart"/>, in the job's trace.
/// </summary>
internal partial class RankRun
{
    private Activity? _startSpan;

    private JobLogScope LogScope => new(Key.JobId, Key.Epoch);

    /// <summary>Opens the rank's start span (from queued to ready for the first step), left out of the caller's context.</summary>
    private void BeginStartSpan()
    {
        _startSpan = JobTrace.StartDetached(JobTrace.RankStart, Key.JobId, Key.Epoch, JobTrace.Context(Start.TraceParent));
        _startSpan?.SetTag(JobTrace.RankTag, Key.Rank).SetTag("node", Key.Node).SetTag("device", Device);
    }

    /// <summary>The rank is ready for its first step (or failed before it): its start span ends.</summary>
    protected void Ready()
    {
        _startSpan?.Dispose();
        _startSpan = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} starts on device {Device}")]
    private partial void LogStarting(string rank, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} on {Device}: data plane: {DataPlane} ({Reason})")]
    private partial void LogDataPlane(string rank, string device, string dataPlane, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} on {Device}: {Libraries}")]
    private partial void LogGpuLibraries(string rank, string device, string libraries);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Rank {Rank} ready in {ReadyMs:F0} ms: queued {QueuedMs:F0}, spec and data plane {ConnectMs:F0}, model {ModelMs:F0}, restore {RestoreMs:F0}, balancer {BalancerMs:F0}; state from {Source}")]
    private partial void LogReady(string rank, double readyMs, double queuedMs, double connectMs, double modelMs, double restoreMs, double balancerMs, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rank {Rank} failed")]
    private partial void LogFailed(Exception exception, string rank);
}
