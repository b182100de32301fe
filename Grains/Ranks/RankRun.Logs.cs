using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Ranks;

/// <summary>What a rank's run logs: its start, its ready time by phase, its data plane, its failure.</summary>
internal partial class RankRun
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} starts on device {Device}")]
    private partial void LogStarting(string rank, string device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rank {Rank} on {Device}: data plane: {DataPlane} ({Reason})")]
    private partial void LogDataPlane(string rank, string device, string dataPlane, string reason);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Rank {Rank} ready in {ReadyMs:F0} ms: queued {QueuedMs:F0}, spec and data plane {ConnectMs:F0}, model {ModelMs:F0}, restore {RestoreMs:F0}, balancer {BalancerMs:F0}")]
    private partial void LogReady(string rank, double readyMs, double queuedMs, double connectMs, double modelMs, double restoreMs, double balancerMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rank {Rank} failed")]
    private partial void LogFailed(Exception exception, string rank);
}
