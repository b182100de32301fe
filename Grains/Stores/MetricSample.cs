namespace Orchestrator.Grains.Storage;

/// <summary>One value of one metric at one training step.</summary>
/// <param name="Step">The training step, from 0.</param>
/// <param name="Name">The metric, e.g. <c>loss</c>, <c>tokens_per_s</c>, <c>max_vio</c>.</param>
/// <param name="Value">Its value; NaN is kept (a diverged loss is worth seeing), infinities too.</param>
/// <param name="At">When it was measured (stored to the microsecond).</param>
public sealed record MetricSample(long Step, string Name, double Value, DateTimeOffset At);
