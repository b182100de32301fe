using Orchestrator.Kernels.Distributed;
using Orleans.Concurrency;

namespace Orchestrator.Grains.DataPlane;

/// <summary>
/// The NCCL rendezvous of one job (key: job id), in memory: the ids of the newest epoch's communicators
/// (one per process group) and the fetchers waiting for them. Reentrant, so fetchers wait side by side
/// and a publish reaches them. A lost activation forgets the ids: its fetchers time out, the ranks fail
/// as retryable, and the job's next epoch publishes new ones.
/// </summary>
[Reentrant]
public sealed class NcclRendezvousGrain : Grain, INcclRendezvousGrain
{
    /// <summary>
    /// The longest one <see cref="Fetch"/> waits, whatever its caller asks (under Orleans' 30 s response
    /// timeout); the ranks ask for <c>Orchestrator:Ranks:NcclIdPoll</c>, which may not exceed it.
    /// </summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(25);

    private readonly Dictionary<int, TaskCompletionSource<byte[]>> _groups = [];
    private long _epoch;

    /// <inheritdoc />
    public Task Publish(long epoch, int group, byte[] uniqueId)
    {
        ArgumentNullException.ThrowIfNull(uniqueId);
        if (uniqueId.Length != NcclNative.UniqueIdBytes)
            throw new ArgumentException($"an NCCL unique id has {NcclNative.UniqueIdBytes} bytes, got {uniqueId.Length}", nameof(uniqueId));
        Follow(epoch);
        var slot = Slot(group);
        if (slot.Task.IsCompletedSuccessfully)
        {
            if (slot.Task.Result.AsSpan().SequenceEqual(uniqueId)) return Task.CompletedTask; // the same publish again (a retried call)
            throw new ArgumentException(
                $"group {group} of epoch {epoch} of job {this.GetPrimaryKeyString()} already has another NCCL id (only its first rank publishes, once)", nameof(uniqueId));
        }
        slot.TrySetResult((byte[])uniqueId.Clone());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<byte[]?> Fetch(long epoch, int group, TimeSpan wait)
    {
        Follow(epoch);
        var published = Slot(group).Task;
        if (published.IsCompletedSuccessfully) return published.Result;
        var limit = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxWait ? MaxWait : wait;
        try
        {
            var id = await published.WaitAsync(limit);
            // Between the publish and this continuation a newer epoch may have arrived.
            return epoch == _epoch ? id : throw Stale(epoch);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private TaskCompletionSource<byte[]> Slot(int group)
    {
        if (group < 0) throw new ArgumentOutOfRangeException(nameof(group), group, "a process group number is 0 or more");
        if (!_groups.TryGetValue(group, out var slot)) _groups[group] = slot = new(TaskCreationOptions.RunContinuationsAsynchronously);
        return slot;
    }

    /// <summary>Moves the fence to <paramref name="epoch"/> if it is newer (waiters of the old epoch are refused); refuses an older one.</summary>
    private void Follow(long epoch)
    {
        if (epoch < _epoch) throw Stale(epoch);
        if (epoch == _epoch) return;
        var old = _epoch;
        _epoch = epoch;
        foreach (var slot in _groups.Values) slot.TrySetException(Stale(old));
        _groups.Clear();
    }

    private StaleEpochException Stale(long carried) => new($"NCCL rendezvous of job {this.GetPrimaryKeyString()}", _epoch, carried);
}
