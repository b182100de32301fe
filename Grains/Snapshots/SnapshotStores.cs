using System.Collections.Concurrent;

namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// A silo's host memory for peer snapshots, one <see cref="SnapshotStore"/> per job, outside any grain activation: the
/// holder grain of <c>job@node</c> is only its front. Orleans' default directory forgets the registrations a dead silo
/// kept, so after a node loss a second activation of a live node's holder can appear on that node; it must see the
/// copies the first one received, and does, through this singleton.
/// </summary>
public sealed class SnapshotStores
{
    private readonly ConcurrentDictionary<string, SnapshotStore> _byJob = new(StringComparer.Ordinal);

    /// <summary>The store of <paramref name="jobId"/> on this silo (created empty on first use).</summary>
    public SnapshotStore For(string jobId) => _byJob.GetOrAdd(jobId, _ => new SnapshotStore());

    /// <summary>Drops <paramref name="jobId"/>'s copies; returns the bytes they held.</summary>
    public long Forget(string jobId) => _byJob.TryRemove(jobId, out var store) ? store.Bytes : 0;
}
