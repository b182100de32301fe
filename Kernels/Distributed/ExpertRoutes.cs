namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// Where one rank's routed rows go in one MoE layer and where its held experts' rows come from, planned from every
/// rank's per-expert counts and the layer's <see cref="ExpertLayerMap"/> (pure: every rank plans alike from the same
/// counts). An expert's rows form one global sequence — rank 0's rows of it, then rank 1's, … — and each replica runs
/// a contiguous part of it (<see cref="ExpertLayerMap.Part"/>), so the concatenation of its replicas' parts in replica
/// order is the row sequence the single copy of the identity map runs.
/// </summary>
public sealed class ExpertRoutes
{
    private ExpertRoutes(long[] send, long[] receive, long[]? sendOrder, long[] byExpert, long[] sizes, IReadOnlyList<int> held, long largest)
    {
        Send = send;
        Receive = receive;
        SendOrder = sendOrder;
        ReceivedByExpert = byExpert;
        Sizes = sizes;
        Held = held;
        Largest = largest;
    }

    /// <summary>Rows this rank sends to each rank.</summary>
    public long[] Send { get; }

    /// <summary>Rows this rank receives from each rank.</summary>
    public long[] Receive { get; }

    /// <summary>Positions in the expert-sorted rows, in the order they are sent; null when that is the sorted order.</summary>
    public long[]? SendOrder { get; }

    /// <summary>Positions in the received buffer (source-major) listed by held expert, then source: the order experts run.</summary>
    public long[] ReceivedByExpert { get; }

    /// <summary>Rows each held expert runs, in <see cref="Held"/> order.</summary>
    public long[] Sizes { get; }

    /// <summary>The logical experts this rank holds, in the order it runs them.</summary>
    public IReadOnlyList<int> Held { get; }

    /// <summary>The most rows any copy of any expert runs on any rank (the same on every rank).</summary>
    public long Largest { get; }

    /// <summary>Plans <paramref name="rank"/>'s exchange from <paramref name="counts"/>[source][expert] under <paramref name="map"/>.</summary>
    public static ExpertRoutes Plan(long[][] counts, ExpertLayerMap map, int rank)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(map);
        var world = map.Ranks;
        if (counts.Length != world || counts.Any(c => c.Length != map.Experts))
            throw new ArgumentException($"counts must be {world} ranks × {map.Experts} experts", nameof(counts));
        var experts = map.Experts;
        // before[s][e]: rows of expert e that ranks before s hold (where s's rows start in e's global sequence).
        var before = new long[world + 1][];
        before[0] = new long[experts];
        for (var s = 0; s < world; s++) before[s + 1] = before[s].Zip(counts[s], (a, b) => a + b).ToArray();
        var total = before[world];

        // The part of source s's rows of e that e's copy on rank d runs: (offset within s's rows, length).
        (long Offset, long Length) Share(int s, int e, int d)
        {
            var (start, count) = map.Part(e, IndexOf(map.Hosts(e), d), total[e]);
            var from = Math.Max(start, before[s][e]);
            var to = Math.Min(start + count, before[s + 1][e]);
            return to > from ? (from - before[s][e], to - from) : (0, 0);
        }

        var sortedStart = new long[experts];
        for (var e = 1; e < experts; e++) sortedStart[e] = sortedStart[e - 1] + counts[rank][e - 1];
        var send = new long[world];
        var order = new List<long>();
        for (var d = 0; d < world; d++)
            foreach (var e in map.Held(d))
            {
                var (offset, length) = Share(rank, e, d);
                for (var i = 0L; i < length; i++) order.Add(sortedStart[e] + offset + i);
                send[d] += length;
            }

        var held = map.Held(rank);
        var receive = new long[world];
        var share = new long[world, held.Count];
        for (var s = 0; s < world; s++)
            for (var k = 0; k < held.Count; k++)
            {
                share[s, k] = Share(s, held[k], rank).Length;
                receive[s] += share[s, k];
            }

        var sourceOffset = new long[world];
        for (var s = 1; s < world; s++) sourceOffset[s] = sourceOffset[s - 1] + receive[s - 1];
        var byExpert = new List<long>();
        var sizes = new long[held.Count];
        for (var k = 0; k < held.Count; k++)
            for (var s = 0; s < world; s++)
            {
                var offset = sourceOffset[s];
                for (var j = 0; j < k; j++) offset += share[s, j];
                for (var i = 0L; i < share[s, k]; i++) byExpert.Add(offset + i);
                sizes[k] += share[s, k];
            }

        var largest = 0L;
        for (var e = 0; e < experts; e++)
            for (var j = 0; j < map.Hosts(e).Count; j++) largest = Math.Max(largest, map.Part(e, j, total[e]).Count);
        var inOrder = order.Select((p, i) => p == i).All(x => x);
        return new ExpertRoutes(send, receive, inOrder ? null : [.. order], [.. byExpert], sizes, held, largest);
    }

    private static int IndexOf(IReadOnlyList<int> hosts, int rank)
    {
        for (var j = 0; j < hosts.Count; j++)
            if (hosts[j] == rank) return j;
        throw new InvalidOperationException($"rank {rank} holds no copy of the expert");
    }
}
