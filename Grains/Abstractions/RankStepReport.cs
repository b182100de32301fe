namespace Orchestrator.Grains;

/// <summary>One rank's report of one step, as it travels in a node's batch (<c>StepReportBatcher</c>).</summary>
/// <param name="Rank">The rank that finished the step.</param>
/// <param name="Metrics">Its report.</param>
[GenerateSerializer, Immutable]
public sealed record RankStepReport([property: Id(0)] int Rank, [property: Id(1)] StepMetrics Metrics);
