namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>A schedule laid out for one pipeline: each rank's actions in the order it runs them.</summary>
/// <param name="Schedule">The schedule's name (as <c>parallel.schedule</c> spells it).</param>
/// <param name="MicroBatches">Micro-batches per step.</param>
/// <param name="VirtualStages">Stages of the model: ranks × chunks per rank.</param>
/// <param name="Ranks">Each rank's program, indexed by pipeline rank (the stage coordinate).</param>
public sealed record PipelinePlan(string Schedule, int MicroBatches, int VirtualStages, IReadOnlyList<IReadOnlyList<PipelineAction>> Ranks);
