namespace Orchestrator.Grains.Storage;

/// <summary>One MoE layer's expert loads and routing biases after one training step.</summary>
/// <param name="Step">The training step, from 0.</param>
/// <param name="Layer">The MoE layer, from 0 (MoE layers only, in model order; MTP layers follow).</param>
/// <param name="Loads">Tokens routed to each routed expert in the step, summed over ranks.</param>
/// <param name="Biases">Each expert's routing bias after the step's update; empty where the layer has none.</param>
/// <param name="At">When it was measured (stored to the microsecond).</param>
public sealed record ExpertLoadSample(long Step, int Layer, IReadOnlyList<long> Loads, IReadOnlyList<double> Biases, DateTimeOffset At);
