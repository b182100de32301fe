namespace Orchestrator.Grains;

/// <summary>An expert map as grains pass it: its version and, per MoE layer, the logical expert of each physical slot.</summary>
[GenerateSerializer, Immutable]
public sealed record ExpertMapView([property: Id(0)] long Version, [property: Id(1)] int[][] Slots);

/// <summary>What rank 0 asks the job's load balancer after a step when re-placement is on.</summary>
/// <param name="Step">The step just trained (0-based).</param>
/// <param name="Loads">Its loads per MoE layer, summed over the job.</param>
/// <param name="Current">The map it ran on.</param>
/// <param name="Balancing">The job's re-placement settings.</param>
/// <param name="Redundant">Extra slots per layer (<c>parallel.redundant_experts</c>).</param>
/// <param name="Groups">Expert groups of the model.</param>
/// <param name="Ranks">Ranks of an EP group.</param>
[GenerateSerializer, Immutable]
public sealed record ExpertPlacementRequest(
    [property: Id(0)] long Step,
    [property: Id(1)] IReadOnlyList<long[]> Loads,
    [property: Id(2)] ExpertMapView Current,
    [property: Id(3)] ExpertBalancingSpec Balancing,
    [property: Id(4)] int Redundant,
    [property: Id(5)] int Groups,
    [property: Id(6)] int Ranks);
