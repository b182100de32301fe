using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The physical ↔ logical expert map of every MoE layer (main model first, then MTP modules, in recorder order),
/// with a version that grows by one at each re-placement: every rank of a job routes by the same version.
/// </summary>
public sealed class ExpertMap
{
    /// <summary>A map of <paramref name="layers"/> (one per MoE layer, all over the same ranks and experts).</summary>
    public ExpertMap(long version, IReadOnlyList<ExpertLayerMap> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (version < 0) throw new ArgumentOutOfRangeException(nameof(version), version, "a map version is not negative");
        if (layers.Count == 0) throw new ArgumentException("a map needs at least one MoE layer", nameof(layers));
        if (layers.Any(l => l.Ranks != layers[0].Ranks || l.Experts != layers[0].Experts))
            throw new ArgumentException("every layer of a map has the same ranks and experts", nameof(layers));
        Version = version;
        Layers = layers;
    }

    /// <summary>0 for the formula placement a job starts with; one more at each re-placement.</summary>
    public long Version { get; }

    /// <summary>Each MoE layer's map.</summary>
    public IReadOnlyList<ExpertLayerMap> Layers { get; }

    /// <summary>Ranks of the EP group.</summary>
    public int Ranks => Layers[0].Ranks;

    /// <summary>The formula placement for <paramref name="layers"/> MoE layers, version 0.</summary>
    public static ExpertMap Identity(ExpertPlacement placement, int layers) =>
        new(0, Enumerable.Range(0, layers).Select(_ => ExpertLayerMap.Identity(placement)).ToArray());

    /// <summary>The map a re-placement decided (<see cref="ExpertRebalancer"/>), as version <paramref name="version"/>.</summary>
    public static ExpertMap From(ExpertReplacement replacement, int experts, int ranks, long version)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        return new ExpertMap(version, replacement.PhysicalToLogical.Select(slots => ExpertLayerMap.Create(experts, ranks, slots)).ToArray());
    }

    /// <summary>The slots of every layer (what events and checkpoints record).</summary>
    public int[][] ToSlots() => Layers.Select(l => l.Slots.ToArray()).ToArray();

    /// <summary>Whether both maps place the same experts in the same slots (versions aside).</summary>
    public bool SamePlacement(ExpertMap other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return other.Layers.Count == Layers.Count && Layers.Zip(other.Layers).All(p => p.First.Slots.SequenceEqual(p.Second.Slots));
    }
}
