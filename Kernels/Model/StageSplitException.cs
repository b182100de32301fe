namespace Orchestrator.Kernels.Model;

/// <summary>A stage split that cannot be built; the spec reader names <c>parallel.stage_layers</c> or <c>parallel.pp</c>.</summary>
public sealed class StageSplitException(string message) : Exception(message);
