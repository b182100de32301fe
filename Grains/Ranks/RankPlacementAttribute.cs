using Orleans.Placement;

namespace Orchestrator.Grains.Ranks;

/// <summary>Pins a grain to the node named in its key, through <see cref="RankPlacementDirector"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class RankPlacementAttribute() : PlacementAttribute(RankPlacementStrategy.Instance);
