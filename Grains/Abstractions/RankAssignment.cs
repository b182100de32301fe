namespace Orchestrator.Grains;

/// <summary>One rank of a plan: which device of which node runs it, and its coordinates in the layout.</summary>
/// <param name="Rank">Global rank, from 0; rank = dp × ep_size + ep.</param>
/// <param name="EpRank">Its place in its expert-parallel group.</param>
/// <param name="DpRank">Its data-parallel replica.</param>
/// <param name="Node">The node (silo name) that owns the device.</param>
/// <param name="Device">The device id, e.g. <c>cpu:0</c>, <c>cuda:3</c>.</param>
[GenerateSerializer, Immutable]
public sealed record RankAssignment(
    [property: Id(0)] int Rank,
    [property: Id(1)] int EpRank,
    [property: Id(2)] int DpRank,
    [property: Id(3)] string Node,
    [property: Id(4)] string Device);
