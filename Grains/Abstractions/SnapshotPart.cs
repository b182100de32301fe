namespace Orchestrator.Grains;

/// <summary>
/// One part of a rank's in-memory snapshot on its way to a holder: a slice of the tensor archive's bytes (the tensors the
/// rank's checkpoint shard holds); the first part also carries the tensor names and the scalar state.
/// </summary>
/// <param name="Rank">The rank whose state it is.</param>
/// <param name="Step">The step the state is at.</param>
/// <param name="Keep">The newest step every rank's snapshot is known complete at (-1: none): the holder keeps it beside this one.</param>
/// <param name="Index">This part's index (0-based).</param>
/// <param name="Count">How many parts the snapshot has.</param>
/// <param name="Data">The part's bytes.</param>
[GenerateSerializer, Immutable]
public sealed record SnapshotPart(
    [property: Id(0)] int Rank,
    [property: Id(1)] long Step,
    [property: Id(2)] long Keep,
    [property: Id(3)] int Index,
    [property: Id(4)] int Count,
    [property: Id(5)] byte[] Data)
{
    /// <summary>The tensors the snapshot holds (prefixed names), on the first part only.</summary>
    [Id(6)]
    public IReadOnlyList<string>? Tensors { get; init; }

    /// <summary>The trainer's scalar state (JSON, as a checkpoint manifest carries it), on the first part only.</summary>
    [Id(7)]
    public string? StateJson { get; init; }

    /// <summary>
    /// Rank 0's step reports the job had not acknowledged when the snapshot left (first part only): they may die with the
    /// rank, and a recovery from this step stores them, so the steps it does not replay keep their metrics.
    /// </summary>
    [Id(8)]
    public IReadOnlyList<StepMetrics>? Reports { get; init; }
}
