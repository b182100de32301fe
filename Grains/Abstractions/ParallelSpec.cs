namespace Orchestrator.Grains;

/// <summary>
/// The parallel layout as job specs and rank starts carry it between grains. This project holds no
/// Kernels (clients take it without libtorch), so the layout's arithmetic lives in Kernels'
/// <c>ParallelLayout</c>, which the grains build from this (<c>ParallelSpecExtensions.ToLayout</c>).
/// </summary>
/// <param name="Ep">Expert-parallel degree.</param>
/// <param name="Dp">Data-parallel degree.</param>
/// <param name="Stages">Pipeline stages (pp).</param>
/// <param name="VirtualStages">Model chunks per rank (the schedule's: 2 for DualPipeV).</param>
/// <param name="Schedule">The pipeline schedule's name (<c>parallel.schedule</c>; 1f1b, zb1p, dualpipev).</param>
/// <param name="StageLayers">
/// Layers per virtual stage as the spec lists them (<c>parallel.stage_layers</c>), comma-separated so that the record
/// keeps value equality; null for the even split.
/// </param>
/// <param name="RedundantExperts">Extra physical expert slots per MoE layer for replicas (<c>parallel.redundant_experts</c>; 0: none).</param>
[GenerateSerializer, Immutable]
public sealed record ParallelSpec(
    [property: Id(0)] int Ep,
    [property: Id(1)] int Dp,
    [property: Id(2)] int Stages = 1,
    [property: Id(3)] int VirtualStages = 1,
    [property: Id(4)] string Schedule = "1f1b",
    [property: Id(5)] string? StageLayers = null,
    [property: Id(6)] int RedundantExperts = 0)
{
    /// <summary><see cref="StageLayers"/> as counts, or null for the even split.</summary>
    public int[]? StageLayerCounts() =>
        StageLayers is null ? null : StageLayers.Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
