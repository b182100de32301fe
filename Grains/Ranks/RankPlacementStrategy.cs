using Orleans.Runtime;

namespace Orchestrator.Grains.Ranks;

/// <summary>Places a grain on the silo named by the <c>@node</c> of its key (see <see cref="RankKey"/>).</summary>
[GenerateSerializer, Immutable]
public sealed class RankPlacementStrategy : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static RankPlacementStrategy Instance { get; } = new();

    /// <inheritdoc />
    public override bool IsUsingGrainDirectory => true;
}
