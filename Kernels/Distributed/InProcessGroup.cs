using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// A process group whose ranks are threads of one process (ranks in one silo share memory).
/// Each collective is a rendezvous: every rank posts its contribution, a barrier, every rank reads
/// what it needs, a second barrier so that no slot is overwritten before it has been read.
/// </summary>
public sealed class InProcessGroup : IDisposable
{
    private readonly Barrier _barrier;
    private readonly object?[] _slots;
    private readonly CancellationTokenSource _abort = new();
    private string? _abortReason;

    public InProcessGroup(int worldSize)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "a group needs at least one rank");
        WorldSize = worldSize;
        _barrier = new Barrier(worldSize);
        _slots = new object?[worldSize];
    }

    public int WorldSize { get; }

    /// <summary>The collective handle of <paramref name="rank"/>; use it from that rank's thread only.</summary>
    public ICollective Collective(int rank)
    {
        if (rank < 0 || rank >= WorldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {WorldSize})");
        return new Member(this, rank);
    }

    internal T[] Exchange<T>(int rank, T contribution) where T : class
    {
        _slots[rank] = contribution;
        Wait();
        var all = _slots.Select(s => (T)s!).ToArray();
        Wait();
        return all;
    }

    internal void Abort(string reason)
    {
        Interlocked.CompareExchange(ref _abortReason, reason, null);
        _abort.Cancel();
    }

    private void Wait()
    {
        try
        {
            _barrier.SignalAndWait(_abort.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new CollectiveAbortedException(_abortReason ?? "aborted", e);
        }
    }

    public void Dispose()
    {
        _barrier.Dispose();
        _abort.Dispose();
    }

    private sealed class Member(InProcessGroup group, int rank) : ICollective
    {
        public int Rank => rank;

        public int WorldSize => group.WorldSize;

        public Tensor AllToAll(Tensor rows, long[] sendCounts, long[] receiveCounts)
        {
            // Each rank publishes its send buffer (detached); receivers copy out their slices.
            using var published = rows.detach();
            var buffers = group.Exchange(rank, new AllToAllPost(published, sendCounts));
            var parts = new List<Tensor>(WorldSize);
            for (var source = 0; source < WorldSize; source++)
            {
                var post = buffers[source];
                var offset = post.Counts.Take(rank).Sum();
                if (post.Counts[rank] != receiveCounts[source])
                    throw new InvalidOperationException($"rank {source} sends {post.Counts[rank]} rows to rank {rank}, which expects {receiveCounts[source]}");
                parts.Add(post.Rows.narrow(0, offset, post.Counts[rank]).clone());
            }
            var received = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            group.Exchange(rank, received); // the senders' buffers may be released only after every copy
            return received;
        }

        public long[][] AllGather(long[] values) => group.Exchange(rank, (long[])values.Clone());

        public void Abort(string reason) => group.Abort($"rank {rank}: {reason}");

        public void AllReduceSum(Tensor tensor)
        {
            var all = group.Exchange(rank, tensor.detach().clone());
            using var noGrad = no_grad();
            using var sum = all[0].clone();
            for (var r = 1; r < all.Length; r++) sum.add_(all[r], Scalars.One);
            group.Exchange(rank, sum); // every rank has read every contribution
            tensor.copy_(sum);
            all[rank].Dispose();
        }
    }

    private sealed record AllToAllPost(Tensor Rows, long[] Counts);
}
