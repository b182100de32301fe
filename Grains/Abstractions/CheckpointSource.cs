namespace Orchestrator.Grains;

/// <summary>The committed checkpoint a job starts from (<c>orchestrator restore</c>).</summary>
/// <param name="JobId">The job that committed it.</param>
/// <param name="Step">Its step.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointSource([property: Id(0)] string JobId, [property: Id(1)] long Step);
