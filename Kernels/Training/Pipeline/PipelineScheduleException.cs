namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>A plan that cannot run as written: it deadlocks, computes before its input is there, or misses or repeats a compute.</summary>
public sealed class PipelineScheduleException(string message) : Exception(message);
