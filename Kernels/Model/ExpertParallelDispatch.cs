using Orchestrator.Kernels.Distributed;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// The routed half of an MoE layer across expert-parallel ranks, routed by the layer's <see cref="ExpertLayerMap"/>:
/// rows sorted by expert go to the ranks holding a copy of their expert (all-to-all; a replicated expert's rows split
/// among its copies as <see cref="ExpertRoutes"/> plans), each rank runs every expert it holds once on its rows
/// gathered from all ranks in rank order — for an unreplicated expert the global token order, so it sees exactly the
/// rows, in exactly the order, of the single-process run — and the outputs travel back the same way to be combined
/// with the gates where the tokens live. Under the identity map the rows leave in sorted order, as before maps existed.
/// </summary>
internal static class ExpertParallelDispatch
{
    public static Tensor Run(Tensor flat, RouteDecision route, Tensor loads, ExpertSet experts, ExpertParallelism parallel, ExpertLayerMap map, bool grouped = false)
    {
        var collective = parallel.Collective;
        if (map.Ranks != collective.WorldSize)
            throw new InvalidOperationException($"the expert map is over {map.Ranks} ranks but the EP group has {collective.WorldSize}");

        var sorted = ExpertRows.Sort(flat, route, loads);
        // Routing metadata: every rank's per-expert counts (exact integers); every rank plans alike from them.
        var all = collective.AllGather(sorted.Counts);
        var routes = ExpertRoutes.Plan(all, map, collective.Rank);
        var device = flat.device;
        var sendOrder = routes.SendOrder is { } o ? tensor(o, ScalarType.Int64, device: device) : null;
        var outgoing = sendOrder is null ? sorted.Rows : sorted.Rows.index_select(0, sendOrder);

        var received = AllToAllFunction.Exchange(collective, outgoing, routes.Send, routes.Receive);
        var byExpert = tensor(routes.ReceivedByExpert, ScalarType.Int64, device: device);
        var inputs = received.index_select(0, byExpert);
        var held = routes.Held.Select(e => experts[e]).ToArray();
        Tensor expertOut;
        if (grouped)
        {
            // The capacity from the largest part any copy runs, so that an expert's batch has the same shape on every rank
            // (under the identity map: the largest global count, the single-process run's).
            expertOut = GroupedExperts.Run(inputs, routes.Sizes, held, GroupedExperts.Capacity([routes.Largest]));
        }
        else
        {
            var outputs = new List<Tensor>(held.Length);
            long start = 0;
            for (var local = 0; local < held.Length; local++)
            {
                // Every held expert runs, even on no rows, so that all ranks build the same graph.
                outputs.Add(held[local].forward(inputs.narrow(0, start, routes.Sizes[local])));
                start += routes.Sizes[local];
            }
            expertOut = cat(outputs, 0);
        }
        var backInOrder = expertOut.index_select(0, byExpert.argsort());
        var returned = AllToAllFunction.Exchange(collective, backInOrder, routes.Receive, routes.Send);
        if (sendOrder is not null) returned = returned.index_select(0, sendOrder.argsort());

        return sorted.Combine(returned, route);
    }
}
