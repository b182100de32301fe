namespace Orchestrator.Grains;

/// <summary>
/// When a job re-places its routed experts at a step boundary (spec <c>balancing</c>); absent: never. The extra slots
/// replicas may take are the layout's (<c>parallel.redundant_experts</c>).
/// </summary>
/// <param name="Every">Re-plan after every this many steps (<c>balancing.replace_every</c>); 0: not on a schedule.</param>
/// <param name="Imbalance">
/// Re-plan after a step whose rank load imbalance, max rank tokens over the mean, exceeds this (<c>balancing.replace_imbalance</c>);
/// 0: never for imbalance.
/// </param>
/// <param name="Window">Steps of loads a decision weighs (<c>balancing.replace_window</c>; default <see cref="Every"/>, else 10).</param>
/// <param name="Nodes">Nodes the placement keeps expert groups on (<c>balancing.nodes</c>, default 1: one node, the global variant's packing).</param>
[GenerateSerializer, Immutable]
public sealed record ExpertBalancingSpec(
    [property: Id(0)] int Every,
    [property: Id(1)] double Imbalance,
    [property: Id(2)] int Window,
    [property: Id(3)] int Nodes);
