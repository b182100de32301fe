namespace Orchestrator.Kernels.Balancing;

/// <summary>When and how a job re-places its routed experts (spec <c>balancing</c> and <c>parallel.redundant_experts</c>).</summary>
/// <param name="Every">Re-plan after every this many steps; 0: not on a schedule.</param>
/// <param name="Imbalance">Re-plan after a step whose rank imbalance (max rank load / mean, worst layer) exceeds this; 0: never for imbalance.</param>
/// <param name="Window">Steps of loads a decision weighs (summed), and the fewest steps between two imbalance-triggered ones.</param>
/// <param name="Redundant">Extra physical slots per layer beyond the logical experts.</param>
/// <param name="Groups">Expert groups (model.n_expert_groups).</param>
/// <param name="Nodes">Nodes the EP ranks are spread over (the hierarchical placement keeps groups on nodes).</param>
public sealed record ReplacementSettings(int Every, double Imbalance, int Window, int Redundant, int Groups, int Nodes)
{
    /// <summary>Whether anything ever triggers a re-placement.</summary>
    public bool IsOn => Every > 0 || Imbalance > 0;
}
