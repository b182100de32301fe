namespace Orchestrator.Grains;

/// <summary>A rank's snapshot a holder keeps whole.</summary>
/// <param name="Rank">The rank whose state it is.</param>
/// <param name="Step">The step it is at.</param>
/// <param name="Epoch">The epoch that wrote it.</param>
/// <param name="Bytes">Its tensor bytes.</param>
/// <param name="Parts">How many parts <see cref="ISnapshotHolderGrain.Read"/> hands it out in.</param>
/// <param name="Tensors">The tensors it holds (prefixed names).</param>
/// <param name="StateJson">The trainer's scalar state at that step.</param>
[GenerateSerializer, Immutable]
public sealed record HeldSnapshot(
    [property: Id(0)] int Rank,
    [property: Id(1)] long Step,
    [property: Id(2)] long Epoch,
    [property: Id(3)] long Bytes,
    [property: Id(4)] int Parts,
    [property: Id(5)] IReadOnlyList<string> Tensors,
    [property: Id(6)] string StateJson)
{
    /// <summary>The step reports that came with it (rank 0's not yet acknowledged ones, see <see cref="SnapshotPart.Reports"/>).</summary>
    [Id(7)]
    public IReadOnlyList<StepMetrics> Reports { get; init; } = [];
}
