using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// Stage links over point-to-point messages, as between silos: a send is one message through <c>send</c> (a grain
/// call to the peer rank, in a cluster), a receive takes it from this rank's <see cref="RankMailbox"/>. The mailbox
/// is shared with the rank's collectives: pipeline messages have their own sequence space (bit 39 set, under the
/// group's number in the bits above 40), numbered by (kind, micro-batch, boundary).
/// </summary>
public sealed class MailboxStageLink(
    int rank, int worldSize, RankMailbox mailbox, Func<int, CollectiveMessage, Task> send, TimeSpan timeout,
    int group = 0, IReadOnlyList<int>? members = null) : IStageLink
{
    private const int BoundaryBits = 20;
    private const int MicroBatchBits = 18;
    private readonly IReadOnlyList<int> _members = members ?? Enumerable.Range(0, worldSize).ToArray();

    /// <inheritdoc />
    public int Rank => rank;

    /// <inheritdoc />
    public int WorldSize => worldSize;

    /// <inheritdoc />
    public void Send(int peer, StageMessageKey key, Tensor tensor)
    {
        CheckPeer(peer);
        using var noGrad = no_grad();
        using var cpu = tensor.detach().cpu().contiguous();
        var message = new CollectiveMessage(Sequence(key), _members[rank], cpu.shape, (int)cpu.dtype, cpu.bytes.ToArray());
        try
        {
            send(_members[peer], message).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not CollectiveAbortedException)
        {
            mailbox.Abort($"rank {_members[rank]} could not send the {key}: {e.Message}");
            throw new CollectiveAbortedException($"rank {_members[rank]} could not send the {key} to rank {_members[peer]}: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public Tensor Receive(int peer, StageMessageKey key, Device device)
    {
        CheckPeer(peer);
        var message = mailbox.Take(Sequence(key), _members[peer], timeout);
        using var t = empty(message.Shape!, (ScalarType)message.DType, device: CPU);
        if (message.Data!.Length > 0) t.bytes = message.Data;
        return t.to(device, copy: true);
    }

    /// <inheritdoc />
    public void Abort(string reason)
    {
        var message = new CollectiveMessage(-1, _members[rank], Abort: $"rank {_members[rank]}: {reason}");
        mailbox.Deliver(message);
        var tasks = Enumerable.Range(0, worldSize).Where(d => d != rank).Select(d => send(_members[d], message)).ToArray();
        try { Task.WaitAll(tasks, TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
    }

    private long Sequence(StageMessageKey key)
    {
        if (key.MicroBatch < 0 || key.MicroBatch >= 1 << MicroBatchBits || key.Boundary < 0 || key.Boundary >= 1 << BoundaryBits)
            throw new ArgumentOutOfRangeException(nameof(key), key, $"micro-batches up to {(1 << MicroBatchBits) - 1} and boundaries up to {(1 << BoundaryBits) - 1}");
        return ((long)group << 40) | (1L << 39) | ((long)key.Kind << (BoundaryBits + MicroBatchBits)) | ((long)key.MicroBatch << BoundaryBits) | (long)key.Boundary;
    }

    private void CheckPeer(int peer)
    {
        if (peer < 0 || peer >= worldSize || peer == rank)
            throw new ArgumentOutOfRangeException(nameof(peer), peer, $"rank {rank} of a {worldSize}-rank pipeline cannot exchange with rank {peer}");
    }
}
