using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// Finds the active silo whose <c>SiloOptions.SiloName</c> is the node in the grain's key (the <c>@node</c> that ends a
/// rank's key, <see cref="RankKey"/>, or a snapshot holder's <c>job@node</c>). A rank owns a device of that node, and a
/// holder its host memory, so there is no fallback: if the node has no active silo, placement fails.
/// </summary>
public sealed class RankPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = target.GrainIdentity.Key.ToString()!;
        var node = key[(key.LastIndexOf('@') + 1)..];
        var compatible = context.GetCompatibleSilos(target).ToHashSet();
        var snapshot = membership.CurrentSnapshot;
        var match = snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && m.Name == node && compatible.Contains(m.SiloAddress))
            .Select(m => m.SiloAddress)
            .OrderByDescending(a => a.Generation)
            .FirstOrDefault();
        return match is not null
            ? Task.FromResult(match)
            : throw new NodeNotActiveException(
                $"grain {key} is pinned to node '{node}', which has no active silo (active: {string.Join(", ", snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.Name).Order(StringComparer.Ordinal))})");
    }
}
