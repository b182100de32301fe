using Orchestrator.Kernels.Distributed;
using Orleans.Concurrency;

namespace Orchestrator.Grains.DataPlane;

/// <summary>
/// The NCCL rendezvous of one job (key: job id), in memory: the id of the newest epoch's communicator
/// and the fetchers waiting for it. Reentrant, so fetchers wait side by side and a publish reaches
/// them. A lost activation forgets the id: its fetchers time out, the ranks fail as retryable, and the
/// job's next epoch publishes a new one.
/// </summary>
[Reentrant]
public sealed class NcclRendezvousGrain : Grain, INcclRendezvousGrain
{
    /// <summary>The longest one <see cref="Fetch"/> waits (under Orleans' 30 s response timeout).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(20);

    private long _epoch;
    private byte[]? _id;
    private TaskCompletionSource<byte[]> _published = NewWaiter();

    /// <inheritdoc />
    public Task Publish(long epoch, byte[] uniqueId)
    {
        ArgumentNullException.ThrowIfNull(uniqueId);
        if (uniqueId.Length != NcclNative.UniqueIdBytes)
            throw new ArgumentException($"an NCCL unique id has {NcclNative.UniqueIdBytes} bytes, got {uniqueId.Length}", nameof(uniqueId));
        Follow(epoch);
        if (_id is not null)
        {
            if (_id.AsSpan().SequenceEqual(uniqueId)) return Task.CompletedTask; // the same publish again (a retried call)
            throw new ArgumentException($"epoch {epoch} of job {this.GetPrimaryKeyString()} already has another NCCL id (only its rank 0 publishes, once)", nameof(uniqueId));
        }
        _id = (byte[])uniqueId.Clone();
        _published.TrySetResult(_id);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<byte[]?> Fetch(long epoch, TimeSpan wait)
    {
        Follow(epoch);
        if (_id is not null) return _id;
        var published = _published.Task;
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

    /// <summary>Moves the fence to <paramref name="epoch"/> if it is newer (waiters of the old epoch are refused); refuses an older one.</summary>
    private void Follow(long epoch)
    {
        if (epoch < _epoch) throw Stale(epoch);
        if (epoch == _epoch) return;
        var previous = _published;
        var old = _epoch;
        _epoch = epoch;
        _id = null;
        _published = NewWaiter();
        previous.TrySetException(Stale(old));
    }

    private StaleEpochException Stale(long carried) => new($"NCCL rendezvous of job {this.GetPrimaryKeyString()}", _epoch, carried);

    private static TaskCompletionSource<byte[]> NewWaiter() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
