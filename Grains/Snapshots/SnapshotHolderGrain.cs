using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Ranks;
using Orleans.Placement;

namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// One node's host memory for one job's peer snapshots, pinned to the node in its key (<c>job@node</c>, through the rank
/// placement director). The copies live in the silo's <see cref="SnapshotStores"/>, not in the activation: they survive
/// the epoch that wrote them, an idle activation's collection, and a second activation after a directory entry was lost
/// with a dead silo. Its calls only copy bytes in or out; no compute runs here.
/// </summary>
[RankPlacement, Immovable]
public sealed partial class SnapshotHolderGrain(SnapshotStores stores, ILogger<SnapshotHolderGrain> logger) : Grain, ISnapshotHolderGrain
{
    private string JobId => this.GetPrimaryKeyString()[..this.GetPrimaryKeyString().LastIndexOf('@')];

    /// <inheritdoc />
    public Task Put(long epoch, SnapshotPart part)
    {
        ArgumentNullException.ThrowIfNull(part);
        stores.For(JobId).Put(epoch, part);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<HeldSnapshot>> Inventory() => Task.FromResult(stores.For(JobId).Inventory());

    /// <inheritdoc />
    public Task<byte[]> Read(int rank, long step, int index) => Task.FromResult(stores.For(JobId).Read(rank, step, index));

    /// <inheritdoc />
    public Task Forget()
    {
        LogForgotten(this.GetPrimaryKeyString(), stores.Forget(JobId));
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot holder {Key} dropped its copies ({Bytes} bytes)")]
    private partial void LogForgotten(string key, long bytes);
}
