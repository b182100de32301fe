using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Ranks;
using Orleans.Concurrency;
using Orleans.Placement;

namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// One node's host memory for one job's peer snapshots (<see cref="SnapshotStore"/>), pinned to the node in its key
/// (<c>job@node</c>, through the rank placement director) and kept alive until the job forgets it, so the copies
/// survive the epoch that wrote them. Its calls only copy bytes in or out; no compute runs here.
/// </summary>
[RankPlacement, Immovable, KeepAlive]
public sealed partial class SnapshotHolderGrain(ILogger<SnapshotHolderGrain> logger) : Grain, ISnapshotHolderGrain
{
    private readonly SnapshotStore _store = new();

    /// <inheritdoc />
    public Task Put(long epoch, SnapshotPart part)
    {
        ArgumentNullException.ThrowIfNull(part);
        _store.Put(epoch, part);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<HeldSnapshot>> Inventory() => Task.FromResult(_store.Inventory());

    /// <inheritdoc />
    public Task<byte[]> Read(int rank, long step, int index) => Task.FromResult(_store.Read(rank, step, index));

    /// <inheritdoc />
    public Task Forget()
    {
        LogForgotten(this.GetPrimaryKeyString(), _store.Bytes);
        _store.Clear();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot holder {Key} dropped its copies ({Bytes} bytes)")]
    private partial void LogForgotten(string key, long bytes);
}
