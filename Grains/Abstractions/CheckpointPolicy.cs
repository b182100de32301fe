namespace Orchestrator.Grains;

/// <summary>When a job writes checkpoints and how many it keeps.</summary>
/// <param name="Every">Steps between checkpoints; 0 writes none.</param>
/// <param name="Keep">Checkpoints kept per rank, newest first.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointPolicy([property: Id(0)] int Every, [property: Id(1)] int Keep);
