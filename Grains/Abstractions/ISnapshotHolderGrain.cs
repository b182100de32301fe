namespace Orchestrator.Grains;

/// <summary>
/// The host memory of one node for one job's peer snapshots: the ranks' in-memory copies of their state that this
/// node holds (its own ranks' and its ring neighbours'). Key: <c>job@node</c>, pinned to that node. Per source rank it
/// keeps at most the newest complete snapshot and the one being written; the copies (in the silo's memory, not the
/// activation's) outlive the epoch that wrote them, so the ranks of the next epoch can load them after a node loss.
/// </summary>
public interface ISnapshotHolderGrain : IGrainWithStringKey
{
    /// <summary>The key of the holder of <paramref name="jobId"/>'s snapshots on <paramref name="node"/>.</summary>
    static string KeyOf(string jobId, string node) => $"{jobId}@{node}";

    /// <summary>
    /// Stores one part of a rank's snapshot. Parts of a snapshot arrive in order; the snapshot is held (complete)
    /// once its last part is in. Dropped then: the rank's copies other than this step and <see cref="SnapshotPart.Keep"/>.
    /// </summary>
    /// <exception cref="StaleEpochException">A part of an older epoch than one the holder has seen for the job.</exception>
    /// <exception cref="ArgumentException">A part out of order, or of another job.</exception>
    Task Put(long epoch, SnapshotPart part);

    /// <summary>The snapshots held whole, by source rank and step (no bytes).</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<HeldSnapshot>> Inventory();

    /// <summary>Part <paramref name="index"/> of the bytes of <paramref name="rank"/>'s snapshot of <paramref name="step"/>.</summary>
    /// <exception cref="KeyNotFoundException">The holder does not hold that snapshot (any more).</exception>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<byte[]> Read(int rank, long step, int index);

    /// <summary>Drops every copy the holder keeps and lets the activation go (the job ended).</summary>
    Task Forget();
}
