using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// One rank asks the real authority (the job's load balancer) and every rank receives its decision: an all-gather of
/// a fixed-length row — the new version (−1: stay) and every layer's slots — that only world rank 0 fills.
/// </summary>
/// <param name="world">All ranks of the job.</param>
/// <param name="root">The authority, on world rank 0 only; null on the other ranks.</param>
public sealed class BroadcastPlacementAuthority(ICollective world, IExpertPlacementAuthority? root) : IExpertPlacementAuthority
{
    /// <inheritdoc />
    public ExpertMap? Decide(long step, IReadOnlyList<long[]> loads, ExpertMap current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (world.Rank == 0 && root is null) throw new InvalidOperationException("rank 0 of the placement broadcast needs the authority");
        var layers = current.Layers.Count;
        var slots = current.Layers[0].Slots.Count;
        var row = new long[1 + layers * slots];
        row[0] = -1;
        if (world.Rank == 0 && root!.Decide(step, loads, current) is { } decided)
        {
            if (decided.Layers.Count != layers || decided.Layers.Any(l => l.Slots.Count != slots))
                throw new InvalidOperationException($"the placement authority answered a map of another shape than {layers} layers × {slots} slots");
            row[0] = decided.Version;
            for (var l = 0; l < layers; l++)
                for (var s = 0; s < slots; s++) row[1 + l * slots + s] = decided.Layers[l].Slots[s];
        }
        var chosen = world.AllGather(row)[0];
        if (chosen[0] < 0) return null;
        var experts = current.Layers[0].Experts;
        return new ExpertMap(chosen[0], Enumerable.Range(0, layers)
            .Select(l => ExpertLayerMap.Create(experts, current.Ranks, chosen.Skip(1 + l * slots).Take(slots).Select(x => (int)x).ToArray())).ToArray());
    }
}
