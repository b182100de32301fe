namespace Orchestrator.Grains;

/// <summary>Where every rank of one epoch of a job runs.</summary>
/// <param name="Epoch">The epoch the plan belongs to.</param>
/// <param name="Ranks">One entry per rank, ordered by rank.</param>
/// <param name="NodesUsed">The nodes the plan uses, in rank order (expert groups map onto them).</param>
[GenerateSerializer, Immutable]
public sealed record RankPlan(
    [property: Id(0)] long Epoch,
    [property: Id(1)] IReadOnlyList<RankAssignment> Ranks,
    [property: Id(2)] IReadOnlyList<string> NodesUsed);
