using System.Diagnostics;
using System.Text.Json;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// A job's life as one trace: the submit span is its root, and its W3C <c>traceparent</c> is kept with the job (in
/// the detail of the <c>submitted</c> event), so every later span — plan, rank start, steps, checkpoints,
/// recovery — is its child, from whichever activation on whichever silo. Every span carries the job id and epoch
/// (<see cref="JobTag"/>, <see cref="EpochTag"/>) and, where it applies, the rank, step or checkpoint step. Spans are
/// created only while something listens to <see cref="OrchestratorTelemetry.Source"/>; otherwise each start
/// returns null and costs a check.
/// </summary>
public static class JobTrace
{
    /// <summary>The span of a job's submission: the root of the job's trace.</summary>
    public const string Submit = "job.submit";

    /// <summary>The span of a plan (the first, or a recovery's re-plan), from asking the cluster to the plan recorded.</summary>
    public const string Plan = "job.plan";

    /// <summary>The span of one rank's start, on its device thread: from queued to ready for its first step.</summary>
    public const string RankStart = "rank.start";

    /// <summary>The span of one step as the job records it (rank 0's report; its length is the step's own time).</summary>
    public const string Step = "job.step";

    /// <summary>The span of one checkpoint's prepare phase: from the first rank's vote to the last.</summary>
    public const string CheckpointPrepare = "checkpoint.prepare";

    /// <summary>The span of one checkpoint's commit: the index transaction, retries included.</summary>
    public const string CheckpointCommit = "checkpoint.commit";

    /// <summary>The span of a recovery: from the move to Recovering to the next epoch's ranks started (or the job's end).</summary>
    public const string Recovery = "job.recovery";

    /// <summary>The tag holding the job id.</summary>
    public const string JobTag = "job";

    /// <summary>The tag holding the job epoch.</summary>
    public const string EpochTag = "epoch";

    /// <summary>The tag holding a rank.</summary>
    public const string RankTag = "rank";

    /// <summary>The tag holding a training step.</summary>
    public const string StepTag = "step";

    /// <summary>The tag holding a checkpoint's step.</summary>
    public const string CheckpointStepTag = "checkpoint.step";

    private const string TraceParentField = "traceparent";

    /// <summary>
    /// Starts a span of job <paramref name="job"/> in epoch <paramref name="epoch"/>, a child of <paramref name="parent"/>
    /// (the job's stored context; default: the current span, if any), from <paramref name="startTime"/> (default: now).
    /// Null when nothing listens.
    /// </summary>
    public static Activity? Start(string name, string job, long epoch, ActivityContext parent = default, DateTimeOffset startTime = default)
    {
        var source = OrchestratorTelemetry.Source;
        if (!source.HasListeners()) return null;
        var tags = new ActivityTagsCollection { [JobTag] = job, [EpochTag] = epoch };
        return source.StartActivity(name, ActivityKind.Internal, parent, tags, startTime: startTime);
    }

    /// <summary>Starts a span and leaves the current span as it was: for spans that outlive the code that starts them.</summary>
    public static Activity? StartDetached(string name, string job, long epoch, ActivityContext parent = default, DateTimeOffset startTime = default)
    {
        var current = Activity.Current;
        var span = Start(name, job, epoch, parent, startTime);
        Activity.Current = current;
        return span;
    }

    /// <summary>The W3C <c>traceparent</c> of <paramref name="span"/>; null without one.</summary>
    public static string? TraceParent(Activity? span) =>
        span is { IdFormat: ActivityIdFormat.W3C } ? span.Id : null;

    /// <summary>The context a <c>traceparent</c> names; default (no parent) when it is null or not one.</summary>
    public static ActivityContext Context(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;

    /// <summary>The detail of a <c>submitted</c> event carrying <paramref name="traceParent"/>; null without one.</summary>
    public static string? SubmittedDetail(string? traceParent) =>
        traceParent is null ? null : JsonSerializer.Serialize(new Dictionary<string, string> { [TraceParentField] = traceParent });

    /// <summary>The <c>traceparent</c> a <c>submitted</c> event's detail carries; null when it carries none (a job submitted untraced).</summary>
    public static string? FromSubmittedDetail(string? detailJson)
    {
        if (string.IsNullOrEmpty(detailJson)) return null;
        try
        {
            using var document = JsonDocument.Parse(detailJson);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(TraceParentField, out var value)
                && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null; // a detail written by something else is no trace: the spans start new traces instead
        }
    }
}
