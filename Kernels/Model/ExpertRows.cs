using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// A layer's token copies grouped by routed expert: every (token, choice) row sorted by expert with a
/// stable sort (so the order within an expert is token order, and deterministic), and the way back.
/// Shared by the single-process and the expert-parallel paths, which must agree row for row.
/// </summary>
internal sealed record ExpertRows(Tensor Order, Tensor Rows, long[] Counts)
{
    /// <summary>The expert of each sorted row, ascending (set by <see cref="SortOnDevice"/> only).</summary>
    public Tensor? SortedExperts { get; init; }

    /// <summary>Sorts the <c>N·k</c> rows of <paramref name="flat"/> [N, d] by expert; counts come from the layer's loads.</summary>
    public static ExpertRows Sort(Tensor flat, RouteDecision route, Tensor loads)
    {
        var k = route.Experts.shape[1];
        var order = route.Experts.flatten().sort(stable: true).Indices;
        var rows = flat.index_select(0, order.div(Scalars.OfInteger(k), rounding_mode: RoundingMode.floor));
        return new ExpertRows(order, rows, loads.cpu().data<long>().ToArray()); // one device→host copy: the split sizes
    }

    /// <summary>
    /// The same sort with nothing read on the host: no counts (<see cref="Counts"/> is empty), and each sorted
    /// row's expert in <see cref="SortedExperts"/> instead, for paths whose split sizes stay on the device.
    /// </summary>
    public static ExpertRows SortOnDevice(Tensor flat, RouteDecision route)
    {
        var k = route.Experts.shape[1];
        var (values, order) = route.Experts.flatten().sort(stable: true);
        var rows = flat.index_select(0, order.div(Scalars.OfInteger(k), rounding_mode: RoundingMode.floor));
        return new ExpertRows(order, rows, []) { SortedExperts = values };
    }

    /// <summary>Expert outputs in sorted order → [N, d], each token's k outputs weighted by its gates and summed.</summary>
    public Tensor Combine(Tensor sortedOutputs, RouteDecision route)
    {
        var k = route.Experts.shape[1];
        var perChoice = sortedOutputs.index_select(0, Order.argsort()).view(-1, k, sortedOutputs.shape[1]);
        return (perChoice * route.Gates.unsqueeze(-1)).sum(1);
    }
}
