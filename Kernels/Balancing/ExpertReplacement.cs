namespace Orchestrator.Kernels.Balancing;

/// <summary>A re-placement of routed experts (<see cref="ExpertRebalancer"/>), per MoE layer.</summary>
/// <param name="PhysicalToLogical">Per layer, the logical expert of each physical slot (slot s lives on rank s / slots-per-rank).</param>
/// <param name="ReplicaRank">Per layer, which replica of its logical expert each slot holds (0 for the first).</param>
/// <param name="LogicalCount">Per layer, how many slots each logical expert has.</param>
/// <param name="Hierarchical">Whether groups were kept on nodes (false: the global variant).</param>
public sealed record ExpertReplacement(int[][] PhysicalToLogical, int[][] ReplicaRank, int[][] LogicalCount, bool Hierarchical)
{
    /// <summary>Per layer, each rank's load: the sum over its slots of the logical expert's load shared evenly by its replicas.</summary>
    public double[][] RankLoads(IReadOnlyList<double[]> loads, int ranks)
    {
        ArgumentNullException.ThrowIfNull(loads);
        return PhysicalToLogical.Select((slots, layer) =>
        {
            var perRank = slots.Length / ranks;
            var result = new double[ranks];
            for (var s = 0; s < slots.Length; s++) result[s / perRank] += loads[layer][slots[s]] / LogicalCount[layer][slots[s]];
            return result;
        }).ToArray();
    }
}
