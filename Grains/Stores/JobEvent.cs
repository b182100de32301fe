namespace Orchestrator.Grains.Storage;

/// <summary>One entry of a job's history.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Seq">Its place in the job's history: 1, 2, 3, … with no gaps.</param>
/// <param name="At">When it was recorded.</param>
/// <param name="Kind">What happened, e.g. <c>started</c>, <c>node-lost</c>, <c>checkpoint-committed</c>.</param>
/// <param name="DetailJson">Details as JSON, or null.</param>
public sealed record JobEvent(string JobId, long Seq, DateTimeOffset At, string Kind, string? DetailJson);
