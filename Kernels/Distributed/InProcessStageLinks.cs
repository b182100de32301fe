using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The stage links of a pipeline whose ranks are threads of one process: a send leaves a CPU copy in the
/// receiver's slot for (sender, key); a receive waits for it. Slots are kept (the same keys recur every step) and
/// hold one message: a second send of a key before its receive is an error. Abort releases every waiting receive.
/// </summary>
public sealed class InProcessStageLinks : IDisposable
{
    private readonly ConcurrentDictionary<(int From, int To, StageMessageKey Key), BlockingCollection<Tensor>> _slots = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TimeSpan _timeout;
    private string? _abortReason;

    /// <summary>Links for <paramref name="worldSize"/> ranks; a receive waits at most <paramref name="timeout"/> (default one minute).</summary>
    public InProcessStageLinks(int worldSize, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        WorldSize = worldSize;
        _timeout = timeout ?? TimeSpan.FromMinutes(1);
    }

    /// <summary>Ranks of the pipeline.</summary>
    public int WorldSize { get; }

    /// <summary>The link of <paramref name="rank"/>; use it from that rank's thread only.</summary>
    public IStageLink Link(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        return new Member(this, rank);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _abort.Dispose();
        foreach (var slot in _slots.Values)
        {
            while (slot.TryTake(out var t)) t.Dispose();
            slot.Dispose();
        }
    }

    private BlockingCollection<Tensor> Slot(int from, int to, StageMessageKey key) => _slots.GetOrAdd((from, to, key), _ => new BlockingCollection<Tensor>(1));

    private void CheckPeer(int rank, int peer)
    {
        if (peer < 0 || peer >= WorldSize || peer == rank)
            throw new ArgumentOutOfRangeException(nameof(peer), peer, $"rank {rank} of a {WorldSize}-rank pipeline cannot exchange with rank {peer}");
    }

    private sealed class Member(InProcessStageLinks links, int rank) : IStageLink
    {
        public int Rank => rank;

        public int WorldSize => links.WorldSize;

        public void Send(int peer, StageMessageKey key, Tensor tensor)
        {
            links.CheckPeer(rank, peer);
            using var noGrad = no_grad();
            var copy = tensor.detach().cpu().clone();
            if (!links.Slot(rank, peer, key).TryAdd(copy))
            {
                copy.Dispose();
                throw new InvalidOperationException($"rank {rank} sent the {key} to rank {peer} twice");
            }
        }

        public Tensor Receive(int peer, StageMessageKey key, Device device)
        {
            links.CheckPeer(rank, peer);
            var slot = links.Slot(peer, rank, key);
            Tensor? received;
            try
            {
                if (!slot.TryTake(out received, (int)links._timeout.TotalMilliseconds, links._abort.Token))
                    throw new TimeoutException($"rank {rank} waited {links._timeout.TotalSeconds:0} s for the {key} from rank {peer}");
            }
            catch (OperationCanceledException e)
            {
                throw new CollectiveAbortedException(links._abortReason ?? "aborted", e);
            }

            if (received!.device_type == device.type && (device.type == DeviceType.CPU || received.device_index == device.index)) return received;
            using (received) return received.to(device);
        }

        public void Abort(string reason)
        {
            Interlocked.CompareExchange(ref links._abortReason, $"rank {rank}: {reason}", null);
            links._abort.Cancel();
        }
    }
}
