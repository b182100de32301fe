namespace Orchestrator.Grains;

/// <summary>One entry of a job's history, as clients see it.</summary>
/// <param name="Seq">Its place in the history, from 1.</param>
/// <param name="At">When it was recorded.</param>
/// <param name="Kind">What happened: <c>submitted</c>, <c>planned</c>, <c>started</c>, <c>node-lost</c>, …</param>
/// <param name="DetailJson">Details as JSON, or null.</param>
[GenerateSerializer, Immutable]
public sealed record JobEventView(
    [property: Id(0)] long Seq,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Kind,
    [property: Id(3)] string? DetailJson);
