namespace Orchestrator.Kernels.Distributed;

/// <summary>A rank's place in a <see cref="ParallelLayout"/>.</summary>
/// <param name="Stage">Its pipeline stage.</param>
/// <param name="Data">Its data-parallel replica within the stage.</param>
/// <param name="Expert">Its place in its expert-parallel group.</param>
public readonly record struct ParallelCoordinates(int Stage, int Data, int Expert);
