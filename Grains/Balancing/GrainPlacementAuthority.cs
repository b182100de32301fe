using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Balancing;

/// <summary>
/// Rank 0's link to the job's <see cref="ILoadBalancerGrain"/> for re-placement: one grain call per step, made from the
/// device thread, asking whether the experts move; the answer goes to every rank by <see cref="BroadcastPlacementAuthority"/>.
/// </summary>
internal sealed class GrainPlacementAuthority(ILoadBalancerGrain balancer, long epoch, ExpertBalancingSpec balancing, int redundant, int groups)
    : IExpertPlacementAuthority
{
    /// <inheritdoc />
    public ExpertMap? Decide(long step, IReadOnlyList<long[]> loads, ExpertMap current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var request = new ExpertPlacementRequest(step, loads, new ExpertMapView(current.Version, current.ToSlots()), balancing, redundant, groups, current.Ranks);
        var decided = balancer.Replace(epoch, request).GetAwaiter().GetResult();
        if (decided is null) return null;
        var experts = current.Layers[0].Experts;
        return new ExpertMap(decided.Version, decided.Slots.Select(s => ExpertLayerMap.Create(experts, current.Ranks, s)).ToArray());
    }
}
