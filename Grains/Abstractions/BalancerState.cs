namespace Orchestrator.Grains;

/// <summary>What the job's load balancer holds.</summary>
/// <param name="Epoch">The epoch it serves.</param>
/// <param name="Step">Steps it has balanced (the next update is for this 0-based step).</param>
/// <param name="Biases">Per MoE layer, each routed expert's bias.</param>
/// <param name="History">The most recent steps' MaxVio per layer, oldest first.</param>
[GenerateSerializer, Immutable]
public sealed record BalancerState(
    [property: Id(0)] long Epoch,
    [property: Id(1)] long Step,
    [property: Id(2)] IReadOnlyList<float[]> Biases,
    [property: Id(3)] IReadOnlyList<BalanceSample> History);

/// <summary>One step's balance: MaxVio of the global loads per MoE layer.</summary>
/// <param name="Step">The step, from 1.</param>
/// <param name="MaxVio">Per MoE layer.</param>
[GenerateSerializer, Immutable]
public sealed record BalanceSample([property: Id(0)] long Step, [property: Id(1)] double[] MaxVio);
