namespace Orchestrator.Kernels.Distributed;

/// <summary>A collective could not complete because a rank of the group failed and aborted it.</summary>
public sealed class CollectiveAbortedException(string reason, Exception? inner = null)
    : Exception($"the process group was aborted: {reason}", inner);
