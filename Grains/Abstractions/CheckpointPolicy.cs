namespace Orchestrator.Grains;

/// <summary>When a job writes checkpoints and which committed ones it keeps.</summary>
/// <param name="Every">Steps between checkpoints; 0 writes none.</param>
/// <param name="Keep">The newest committed checkpoints kept (at least 1).</param>
/// <param name="KeepEvery">Also keep, for good, every committed checkpoint whose step is a multiple of this; 0 keeps none beyond <paramref name="Keep"/>.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointPolicy([property: Id(0)] int Every, [property: Id(1)] int Keep, [property: Id(2)] int KeepEvery = 0)
{
    /// <summary>True when a checkpoint is written after <paramref name="step"/>.</summary>
    public bool IsDue(long step) => Every > 0 && step % Every == 0;
}
