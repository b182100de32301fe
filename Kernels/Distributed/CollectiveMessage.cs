namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// What one rank sends another in a collective: a tensor as raw bytes, or integers, or an abort.
/// Plain data, so any transport (grain calls between silos, a socket) can carry it.
/// </summary>
/// <param name="Sequence">The collective's number on the sender (every rank numbers its calls alike).</param>
/// <param name="Source">The sending rank.</param>
public sealed record CollectiveMessage(long Sequence, int Source, long[]? Shape = null, int DType = 0, byte[]? Data = null, long[]? Integers = null, string? Abort = null);
