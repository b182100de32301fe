using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// One rank's view of a process group: the collectives the expert-parallel step needs. Calls block
/// until every rank of the group has made the same call, so they run on device executor threads,
/// never on a scheduler that other work shares. Every rank must make the same calls in the same
/// order; results are deterministic (reductions sum in rank order).
/// </summary>
public interface ICollective
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>
    /// Rows [Σ sendCounts, …] split by destination rank in rank order; returns the rows every rank
    /// sent to this one, concatenated in source-rank order (a copy, detached from the sender's graph).
    /// </summary>
    Tensor AllToAll(Tensor rows, long[] sendCounts, long[] receiveCounts);

    /// <summary>Every rank's <paramref name="values"/>, indexed by rank.</summary>
    long[][] AllGather(long[] values);

    /// <summary>Element-wise sum over ranks, in rank order, written back into <paramref name="tensor"/> on every rank.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>
    /// Breaks the group after this rank failed mid-step: every rank blocked in, or later entering, a
    /// collective gets a <see cref="CollectiveAbortedException"/> instead of waiting forever.
    /// </summary>
    void Abort(string reason);
}
