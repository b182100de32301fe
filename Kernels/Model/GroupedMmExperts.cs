using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// A rank's routed experts through ATen's grouped matrix multiply (<see cref="AtenOps.GroupedMm"/>, the native
/// bridge) over expert offsets computed on the device: no host synchronisation for the split sizes and no padding
/// to the largest expert. Each expert's rows are padded to a multiple of <see cref="RowAlignment"/> (grouped_mm's
/// alignment) in a buffer of static size (rows rounded up to the alignment, plus one alignment per expert); the
/// last expert's group runs to the end of the buffer, so every row of it is covered by a group and pad rows are
/// zero. Placing and taking out use an index of unique positions, so the backward pass is deterministic. The
/// products are bfloat16 with the SwiGLU in float32, the same arithmetic as the padded bmm path in bfloat16
/// (<see cref="GroupedExperts"/>), which stays the path without the bridge.
/// </summary>
public static class GroupedMmExperts
{
    /// <summary>Every expert's group starts at a multiple of this many rows.</summary>
    public const int RowAlignment = 16;

    /// <summary>True when the bridge is in use and the rows are on a GPU in bfloat16 precision: <see cref="Run"/> applies.</summary>
    public static bool Supports(Tensor rows, GemmPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return AtenBridge.Uses(AtenOperations.GroupedMm) && rows.device_type == DeviceType.CUDA && precision == GemmPrecision.BFloat16;
    }

    /// <summary>Rows of the padded buffer for <paramref name="rows"/> rows over <paramref name="experts"/> experts (a function of the shapes only).</summary>
    public static long BufferRows(long rows, long experts) => ((rows + RowAlignment - 1) / RowAlignment * RowAlignment) + (RowAlignment * experts);

    /// <summary>
    /// Runs <paramref name="experts"/> on <paramref name="rows"/> [R, d], sorted by expert: <paramref name="sortedExperts"/>
    /// [R] (int64, ascending) is each row's expert and <paramref name="loads"/> [E] (int64) the rows per expert, both
    /// on the rows' device. Returns the outputs [R, d] in float32, in the same order.
    /// </summary>
    public static Tensor Run(Tensor rows, Tensor sortedExperts, Tensor loads, IReadOnlyList<FeedForward> experts)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(sortedExperts);
        ArgumentNullException.ThrowIfNull(loads);
        ArgumentNullException.ThrowIfNull(experts);
        if (experts.Count == 0) throw new ArgumentException("grouped_mm experts: no experts", nameof(experts));
        if (loads.dim() != 1 || loads.shape[0] != experts.Count)
            throw new ArgumentException($"grouped_mm experts: loads [{string.Join(", ", loads.shape)}] for {experts.Count} experts", nameof(loads));
        if (sortedExperts.dim() != 1 || sortedExperts.shape[0] != rows.shape[0])
            throw new ArgumentException($"grouped_mm experts: {sortedExperts.shape[0]} expert ids for {rows.shape[0]} rows", nameof(sortedExperts));

        using var scope = NewDisposeScope();
        long total = rows.shape[0], d = rows.shape[1];
        var size = BufferRows(total, experts.Count);
        var (positions, offsets) = Layout(loads, sortedExperts);
        var buffer = zeros([size, d], ScalarType.BFloat16, device: rows.device).index_copy(0, positions, rows.to(ScalarType.BFloat16));
        var w1 = Stacked(experts, x => x.W1);
        var w3 = Stacked(experts, x => x.W3);
        var w2 = Stacked(experts, x => x.W2);
        var h1 = AtenOps.GroupedMm(buffer, w1, offsets).to(ScalarType.Float32);
        var h3 = AtenOps.GroupedMm(buffer, w3, offsets).to(ScalarType.Float32);
        var hidden = nn.functional.silu(h1).mul(h3).to(ScalarType.BFloat16);
        var output = AtenOps.GroupedMm(hidden, w2, offsets);
        return output.index_select(0, positions).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Where each sorted row goes in the padded buffer and where each expert's group ends, computed on the device from
    /// <paramref name="loads"/> [E] and <paramref name="sortedExperts"/> [R] (no host read): expert e's j-th row at
    /// (its group's start) + j, groups starting at multiples of <see cref="RowAlignment"/>, the offsets (int32 [E]) the
    /// groups' ends with the last one at <see cref="BufferRows"/> (R, E). Returns the positions (int64 [R], all
    /// distinct) and the offsets, owned by the caller.
    /// </summary>
    public static (Tensor Positions, Tensor Offsets) Layout(Tensor loads, Tensor sortedExperts)
    {
        ArgumentNullException.ThrowIfNull(loads);
        ArgumentNullException.ThrowIfNull(sortedExperts);
        using var scope = NewDisposeScope();
        long e = loads.shape[0], total = sortedExperts.shape[0];
        var counts = loads.to(ScalarType.Int64);
        var padded = counts.add(Scalars.OfInteger(RowAlignment - 1)).div(Scalars.OfInteger(RowAlignment), rounding_mode: RoundingMode.floor)
            .mul(Scalars.OfInteger(RowAlignment));
        var ends = padded.cumsum(0);
        var shift = ends.sub(padded).sub(counts.cumsum(0).sub(counts));
        using var stop = total.ToScalar(); // per-call values: see Scalars
        using var size = BufferRows(total, e).ToScalar();
        var positions = arange(stop, ScalarType.Int64, device: sortedExperts.device).add(shift.index_select(0, sortedExperts), Scalars.One);
        var offsets = ends.clone();
        offsets.narrow(0, e - 1, 1).fill_(size); // the last group runs to the buffer's end
        return (positions.MoveToOuterDisposeScope(), offsets.to(ScalarType.Int32).MoveToOuterDisposeScope());
    }

    // [E, out, in] master weights → bf16 [E, in, out] (a transposed view: grouped_mm reads it column-major).
    private static Tensor Stacked(IReadOnlyList<FeedForward> experts, Func<FeedForward, Projection> pick) =>
        stack(experts.Select(x => (Tensor)pick(x).Weight), 0).to(ScalarType.BFloat16).transpose(1, 2);
}
