namespace Orchestrator.Grains;

/// <summary>When a job writes checkpoints and which committed ones it keeps.</summary>
/// <param name="Every">Steps between checkpoints; 0 writes none.</param>
/// <param name="Keep">The newest committed checkpoints kept (at least 1).</param>
/// <param name="KeepEvery">Also keep, for good, every committed checkpoint whose step is a multiple of this; 0 keeps none beyond <paramref name="Keep"/>.</param>
/// <param name="MemoryEvery">Steps between in-memory peer snapshots (when <paramref name="MemoryCopies"/> &gt; 0).</param>
/// <param name="MemoryCopies">Buddy nodes that hold each rank's in-memory snapshot besides its own node (0: no peer snapshots; 1 or 2).</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointPolicy(
    [property: Id(0)] int Every,
    [property: Id(1)] int Keep,
    [property: Id(2)] int KeepEvery = 0,
    [property: Id(3)] int MemoryEvery = 1,
    [property: Id(4)] int MemoryCopies = 0)
{
    /// <summary>True when a rank snapshots its state into its peers' memory after <paramref name="step"/>.</summary>
    public bool IsMemoryDue(long step) => MemoryCopies > 0 && MemoryEvery > 0 && step % MemoryEvery == 0;

    /// <summary>True when a checkpoint is written after <paramref name="step"/>.</summary>
    public bool IsDue(long step) => Every > 0 && step % Every == 0;
}
