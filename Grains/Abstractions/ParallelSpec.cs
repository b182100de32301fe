namespace Orchestrator.Grains;

/// <summary>
/// The parallel layout as job specs and rank starts carry it between grains. This project holds no
/// Kernels (clients take it without libtorch), so the layout's arithmetic lives in Kernels'
/// <c>ParallelLayout</c>, which the grains build from this (<c>ParallelSpecExtensions.ToLayout</c>).
/// </summary>
/// <param name="Ep">Expert-parallel degree.</param>
/// <param name="Dp">Data-parallel degree.</param>
/// <param name="Stages">Pipeline stages (pp); the spec refuses more than 1 for now.</param>
/// <param name="VirtualStages">Model chunks per rank (an interleaved pipeline).</param>
[GenerateSerializer, Immutable]
public sealed record ParallelSpec(
    [property: Id(0)] int Ep,
    [property: Id(1)] int Dp,
    [property: Id(2)] int Stages = 1,
    [property: Id(3)] int VirtualStages = 1);
