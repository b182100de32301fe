using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// Collectives built on point-to-point messages: a rank sends through <c>send</c> (a grain call to
/// the peer rank, in a cluster) and receives through its <see cref="RankMailbox"/>. All-reduce
/// gathers to rank 0, which sums in rank order and sends the sum back, so every rank gets the
/// same bits whatever the transport's timing.
/// A sub-group (the ranks of one EP group, or the DP replicas of one expert shard) shares its ranks'
/// mailboxes with the other groups: <c>members</c> maps the group's ranks to the ranks that
/// <c>send</c> and the mailbox know, and <c>group</c> gives the group its own sequence space.
/// </summary>
public sealed class MailboxCollective(
    int rank, int worldSize, RankMailbox mailbox, Func<int, CollectiveMessage, Task> send, TimeSpan timeout,
    int group = 0, IReadOnlyList<int>? members = null, TimeSpan? abortWait = null) : ICollective
{
    private readonly IReadOnlyList<int> _members = Members(members, worldSize, rank);
    private long _sequence = (long)group << 40;

    public int Rank => rank;

    public int WorldSize => worldSize;

    public Tensor AllToAll(Tensor rows, long[] sendCounts, long[] receiveCounts)
    {
        var sequence = ++_sequence;
        using var cpu = rows.detach().cpu().contiguous();
        var sends = new List<Task>(worldSize);
        Tensor? own = null;
        long offset = 0;
        for (var destination = 0; destination < worldSize; destination++)
        {
            using var part = cpu.narrow(0, offset, sendCounts[destination]);
            offset += sendCounts[destination];
            if (destination == rank) own = part.clone();
            else sends.Add(send(_members[destination], Pack(sequence, part)));
        }
        Complete(sends);

        var parts = new Tensor[worldSize];
        for (var source = 0; source < worldSize; source++)
        {
            parts[source] = source == rank ? own! : Unpack(mailbox.Take(sequence, _members[source], timeout));
            if (parts[source].shape[0] != receiveCounts[source])
                throw new InvalidOperationException($"rank {source} sent {parts[source].shape[0]} rows to rank {rank}, which expects {receiveCounts[source]}");
        }
        var received = cat(parts, 0).to(rows.device);
        foreach (var p in parts) p.Dispose();
        return received;
    }

    public long[][] AllGather(long[] values)
    {
        var sequence = ++_sequence;
        var message = new CollectiveMessage(sequence, _members[rank], Integers: values);
        Complete(Enumerable.Range(0, worldSize).Where(d => d != rank).Select(d => send(_members[d], message)).ToList());
        return Enumerable.Range(0, worldSize)
            .Select(source => source == rank ? (long[])values.Clone() : mailbox.Take(sequence, _members[source], timeout).Integers!)
            .ToArray();
    }

    public void AllReduceSum(Tensor tensor)
    {
        var gather = ++_sequence;
        var scatter = ++_sequence;
        using var noGrad = no_grad();
        using var cpu = tensor.detach().cpu().contiguous();
        if (rank != 0)
        {
            Complete([send(_members[0], Pack(gather, cpu))]);
            using var sum = Unpack(mailbox.Take(scatter, _members[0], timeout));
            tensor.copy_(sum);
            return;
        }
        using var total = cpu.clone();
        for (var source = 1; source < worldSize; source++)
        {
            using var part = Unpack(mailbox.Take(gather, _members[source], timeout));
            total.add_(part, Scalars.One);
        }
        var result = Pack(scatter, total);
        Complete(Enumerable.Range(1, worldSize - 1).Select(d => send(_members[d], result)).ToList());
        tensor.copy_(total);
    }

    public void Abort(string reason)
    {
        var message = new CollectiveMessage(-1, _members[rank], Abort: $"rank {_members[rank]}: {reason}");
        mailbox.Deliver(message);
        // Best effort: a peer that cannot be reached will time out on its own.
        var tasks = Enumerable.Range(0, worldSize).Where(d => d != rank).Select(d => send(_members[d], message)).ToArray();
        try { Task.WaitAll(tasks, abortWait ?? TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
    }

    private void Complete(List<Task> sends)
    {
        try
        {
            Task.WhenAll(sends).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not CollectiveAbortedException)
        {
            mailbox.Abort($"rank {_members[rank]} could not send: {e.Message}");
            throw new CollectiveAbortedException($"rank {_members[rank]} could not send: {e.Message}", e);
        }
    }

    private static IReadOnlyList<int> Members(IReadOnlyList<int>? members, int worldSize, int rank)
    {
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize})");
        if (members is null) return Enumerable.Range(0, worldSize).ToArray();
        if (members.Count != worldSize || members.Distinct().Count() != worldSize)
            throw new ArgumentException($"a group of {worldSize} ranks needs {worldSize} distinct members, got [{string.Join(", ", members)}]", nameof(members));
        return members;
    }

    private CollectiveMessage Pack(long sequence, Tensor t) =>
        new(sequence, _members[rank], t.shape, (int)t.dtype, t.bytes.ToArray());

    private static Tensor Unpack(CollectiveMessage m)
    {
        var t = empty(m.Shape!, (ScalarType)m.DType, device: CPU);
        if (m.Data!.Length > 0) t.bytes = m.Data;
        return t;
    }
}
