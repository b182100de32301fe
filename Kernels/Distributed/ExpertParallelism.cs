namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// What one rank needs to run its part of an expert-parallel (and data-parallel) model.
/// <see cref="Collective"/> is the rank's EP group (the ranks that together hold every routed expert
/// at least once, and exchange tokens by all-to-all); with dp &gt; 1 there are dp such groups, the job's
/// <see cref="World"/> holds all ep × dp ranks, and <see cref="Replicas"/> the dp ranks that hold the
/// same expert shard (their expert gradients are summed). Which rank holds which experts is <see cref="Map"/>
/// (null: the formula placement <see cref="Placement"/> in every layer).
/// </summary>
public sealed record ExpertParallelism(ICollective Collective, ExpertPlacement Placement)
{
    /// <summary>Every rank of the job (dense gradients, losses, loads); the EP group when dp = 1.</summary>
    public ICollective World { get; init; } = Collective;

    /// <summary>The ranks holding this rank's expert shard in the other EP groups; null when dp = 1.</summary>
    public ICollective? Replicas { get; init; }

    /// <summary>The expert map the model is built with (every EP group of a job uses the same); null: the identity map.</summary>
    public ExpertMap? Map { get; init; }

    /// <summary>This rank's index in its EP group (which expert shard it holds).</summary>
    public int Rank => Collective.Rank;

    /// <summary>Ranks in an EP group.</summary>
    public int WorldSize => Collective.WorldSize;

    /// <summary>MoE layer <paramref name="moeIndex"/>'s map: <see cref="Map"/>'s, or the formula placement.</summary>
    public ExpertLayerMap LayerMap(int moeIndex)
    {
        if (Map is null) return ExpertLayerMap.Identity(Placement);
        if (moeIndex < 0 || moeIndex >= Map.Layers.Count)
            throw new ArgumentOutOfRangeException(nameof(moeIndex), moeIndex, $"the expert map has {Map.Layers.Count} MoE layers");
        var layer = Map.Layers[moeIndex];
        if (layer.Ranks != WorldSize || layer.Experts != Placement.Experts)
            throw new ArgumentException($"the expert map places {layer.Experts} experts over {layer.Ranks} ranks; the model has {Placement.Experts} over {WorldSize}");
        return layer;
    }

    /// <summary>The first replica of each expert shard: it alone counts its experts in job-wide sums.</summary>
    public bool IsPrimaryReplica => Replicas is null || Replicas.Rank == 0;
}
