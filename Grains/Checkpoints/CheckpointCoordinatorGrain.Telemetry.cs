using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// The coordinator's part of the job's trace — one <see cref="JobTrace.CheckpointPrepare"/> span per checkpoint, from
/// the first rank's vote to the last, and one <see cref="JobTrace.CheckpointCommit"/> span per commit — children of
/// the job's submit span, whose context it reads from the job's first event; and its calls' logging scope (job, epoch).
/// </summary>
public sealed partial class CheckpointCoordinatorGrain : IIncomingGrainCallFilter
{
    private readonly Dictionary<long, DateTimeOffset> _firstVotes = [];
    private ActivityContext? _trace;
    private JobLogScope? _logScope;

    private JobLogScope LogScope => _logScope ??= new JobLogScope(Id, () => _job?.Epoch ?? 0);

    /// <summary>Every call to the coordinator runs in the job's logging scope.</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using (logger.BeginScope(LogScope)) await context.Invoke();
    }

    /// <summary>The job's trace, read once per activation from its <c>submitted</c> event (only while something listens).</summary>
    private async Task<ActivityContext> TraceAsync()
    {
        if (_trace is { } known) return known;
        if (!OrchestratorTelemetry.Source.HasListeners()) return default;
        var first = await jobStore.ListJobEventsAsync(Id, 0, 1);
        var trace = JobTrace.Context(JobTrace.FromSubmittedDetail(first.FirstOrDefault(e => e.Kind == JobEvents.Submitted)?.DetailJson));
        _trace = trace;
        return trace;
    }

    /// <summary>Notes when the first vote of <paramref name="step"/> came.</summary>
    private void VoteCame(long step) => _firstVotes.TryAdd(step, DateTimeOffset.UtcNow);

    /// <summary>Every rank voted for <paramref name="step"/>: the prepare span, from its first vote to now.</summary>
    private async Task TracePreparedAsync(long step, long epoch, int ranks)
    {
        var since = _firstVotes.Remove(step, out var first) ? first : DateTimeOffset.UtcNow;
        foreach (var old in _firstVotes.Keys.Where(s => s <= step).ToList()) _firstVotes.Remove(old); // abandoned ones
        if (!OrchestratorTelemetry.Source.HasListeners()) return;
        using var span = JobTrace.Start(JobTrace.CheckpointPrepare, Id, epoch, await TraceAsync(), since);
        span?.SetTag(JobTrace.CheckpointStepTag, step).SetTag("ranks", ranks);
    }

    /// <summary>
    /// The span of one commit (its retries inside it), in the job's trace <paramref name="trace"/>. Synchronous, so
    /// that it is the current span of the caller: the commit's log events carry its ids.
    /// </summary>
    private Activity? StartCommitSpan(CheckpointManifest manifest, ActivityContext trace)
    {
        var span = JobTrace.Start(JobTrace.CheckpointCommit, Id, manifest.Epoch, trace);
        span?.SetTag(JobTrace.CheckpointStepTag, manifest.Step).SetTag("bytes", manifest.Bytes).SetTag("shards", manifest.Shards.Count);
        return span;
    }
}
