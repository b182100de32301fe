using Orchestrator.Kernels.Distributed;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// The routed half of an MoE layer across expert-parallel ranks: rows sorted by expert go to the
/// ranks that own those experts (all-to-all), each owner runs every one of its experts once on its
/// rows gathered from all ranks in rank order — the global token order, so an expert sees exactly
/// the rows, in exactly the order, of the single-process run — and the outputs travel back the
/// same way to be combined with the gates where the tokens live.
/// </summary>
internal static class ExpertParallelDispatch
{
    public static Tensor Run(Tensor flat, RouteDecision route, Tensor loads, ExpertSet experts, ExpertParallelism parallel, bool grouped = false)
    {
        var collective = parallel.Collective;
        var placement = parallel.Placement;
        var world = collective.WorldSize;

        // Rows sorted by expert; experts are owned in contiguous ranges, so this also groups them by destination.
        var sorted = ExpertRows.Sort(flat, route, loads);
        var counts = sorted.Counts;
        var send = new long[world];
        for (var e = 0; e < counts.Length; e++) send[placement.OwnerOf(e)] += counts[e];

        // Routing metadata: every rank's per-expert counts (exact integers).
        var all = collective.AllGather(counts);
        var receive = new long[world];
        var first = placement.FirstOf(collective.Rank);
        for (var source = 0; source < world; source++)
            for (var e = first; e < first + placement.PerRank; e++) receive[source] += all[source][e];

        var received = AllToAllFunction.Exchange(collective, sorted.Rows, send, receive);
        var (byExpert, sizes) = ExpertMajorIndex(all, receive, first, placement.PerRank, flat.device);
        var inputs = received.index_select(0, byExpert);
        Tensor expertOut;
        if (grouped)
        {
            // The capacity of the single-process run (the largest global count), so that an expert's
            // batch has the same shape whichever rank runs it.
            var held = Enumerable.Range(first, placement.PerRank).Select(e => experts[e]).ToArray();
            var capacity = GroupedExperts.Capacity(Enumerable.Range(0, counts.Length).Select(e => all.Sum(source => source[e])));
            expertOut = GroupedExperts.Run(inputs, sizes, held, capacity);
        }
        else
        {
            var outputs = new List<Tensor>(placement.PerRank);
            long start = 0;
            for (var local = 0; local < placement.PerRank; local++)
            {
                // Every held expert runs, even on no rows, so that all ranks build the same graph.
                outputs.Add(experts[first + local].forward(inputs.narrow(0, start, sizes[local])));
                start += sizes[local];
            }
            expertOut = cat(outputs, 0);
        }
        var backInOrder = expertOut.index_select(0, byExpert.argsort());
        var returned = AllToAllFunction.Exchange(collective, backInOrder, receive, send);

        return sorted.Combine(returned, route);
    }

    /// <summary>
    /// Positions in the received buffer (source-major, expert-minor) listed expert-major and, within
    /// an expert, in source order; plus the number of rows of each held expert.
    /// </summary>
    private static (Tensor Index, long[] Sizes) ExpertMajorIndex(long[][] all, long[] receive, int first, int perRank, Device device)
    {
        var world = all.Length;
        var sourceOffset = new long[world];
        for (var s = 1; s < world; s++) sourceOffset[s] = sourceOffset[s - 1] + receive[s - 1];
        var index = new List<long>();
        var sizes = new long[perRank];
        for (var local = 0; local < perRank; local++)
        {
            for (var source = 0; source < world; source++)
            {
                var offset = sourceOffset[source];
                for (var e = first; e < first + local; e++) offset += all[source][e];
                var n = all[source][first + local];
                for (var i = 0; i < n; i++) index.Add(offset + i);
                sizes[local] += n;
            }
        }
        return (tensor(index.ToArray(), ScalarType.Int64, device: device), sizes);
    }
}
