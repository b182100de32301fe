using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// A rank's routed experts as one padded batched GEMM per projection instead of a loop over experts:
/// the rows, sorted by expert, are placed into [E, capacity, d] (capacity = the largest expert's rows
/// rounded up to a multiple of <see cref="CapacityMultiple"/>, pad rows zero), multiplied with the
/// experts' weights stacked at forward time ([E, h, d]: parameter names, checkpoints and expert
/// ownership are unchanged), SwiGLU, multiplied back, and the real rows taken out again. Placing and
/// taking out use an index of unique positions, so the backward pass (index_select of the gradient,
/// index_add with unique indices) is deterministic.
/// </summary>
public static class GroupedExperts
{
    /// <summary>Capacity is a multiple of this, so FP8 1×128 tiles along the tokens never straddle experts.</summary>
    public const int CapacityMultiple = 128;

    /// <summary>
    /// Whether the grouped path runs for <paramref name="input"/>: "on", "off", or "auto" or null (on for CUDA
    /// tensors; off on the CPU, whose results and checkpoints stay those of the per-expert loop).
    /// </summary>
    public static bool Use(string? setting, Tensor input) => (setting ?? "auto") switch
    {
        "on" => true,
        "off" => false,
        "auto" => input.device_type == DeviceType.CUDA,
        _ => throw new ArgumentException($"model.grouped_experts: unknown value \"{setting}\" (auto, on, off)", nameof(setting)),
    };

    /// <summary>Rows per expert in the padded batch: the largest count rounded up to <see cref="CapacityMultiple"/> (at least one multiple).</summary>
    public static long Capacity(IEnumerable<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var largest = 0L;
        foreach (var c in counts)
        {
            if (c < 0) throw new ArgumentException($"grouped experts: a negative row count ({c})", nameof(counts));
            largest = Math.Max(largest, c);
        }
        return Math.Max(1, (largest + CapacityMultiple - 1) / CapacityMultiple) * CapacityMultiple;
    }

    /// <summary>
    /// Runs <paramref name="experts"/> on <paramref name="rows"/> [R, d] (sorted by expert: the first
    /// counts[0] rows are expert 0's, and so on) and returns their outputs in the same order, [R, d].
    /// Every expert takes part, even one with no rows (its weights then get a zero gradient).
    /// </summary>
    public static Tensor Run(Tensor rows, long[] counts, IReadOnlyList<FeedForward> experts, long capacity)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(experts);
        if (counts.Length != experts.Count)
            throw new ArgumentException($"grouped experts: {counts.Length} row counts for {experts.Count} experts", nameof(counts));
        if (counts.Length == 0) throw new ArgumentException("grouped experts: no experts", nameof(experts));
        var total = counts.Sum();
        if (total != rows.shape[0])
            throw new ArgumentException($"grouped experts: the counts add up to {total} rows, the input has {rows.shape[0]}", nameof(counts));
        if (capacity < counts.Max() || capacity <= 0)
            throw new ArgumentException($"grouped experts: capacity {capacity} is below the largest expert's {counts.Max()} rows", nameof(capacity));

        using var scope = NewDisposeScope();
        long e = counts.Length, d = rows.shape[1];
        var precision = experts[0].Precision;
        var slots = tensor(Positions(counts, capacity), ScalarType.Int64, device: rows.device);
        var padded = zeros([e * capacity, d], rows.dtype, device: rows.device).index_copy(0, slots, rows).view(e, capacity, d);
        var w1 = stack(experts.Select(x => (Tensor)x.W1.Weight), 0);
        var w3 = stack(experts.Select(x => (Tensor)x.W3.Weight), 0);
        var w2 = stack(experts.Select(x => (Tensor)x.W2.Weight), 0);
        var hidden = TorchSharp.torch.nn.functional.silu(Project(padded, w1, precision)) * Project(padded, w3, precision);
        var output = Project(hidden, w2, precision);
        return output.view(e * capacity, d).index_select(0, slots).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x [E, cap, k] times each expert's weight [E, n, k] transposed → [E, cap, n], in <paramref name="precision"/>:
    /// float32 and bfloat16 as one batched GEMM (bfloat16 casts the stacked weight once), FP8 as
    /// <see cref="GroupedFp8Projection"/> on the GPU, else (CPU emulation, shapes it cannot take) per expert.
    /// </summary>
    public static Tensor Project(Tensor x, Tensor weight, GemmPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (x.dim() != 3 || weight.dim() != 3 || x.shape[0] != weight.shape[0] || x.shape[2] != weight.shape[2])
            throw new ArgumentException($"grouped projection: x [{string.Join(", ", x.shape)}] and weight [{string.Join(", ", weight.shape)}] are not [E, cap, k] and [E, n, k]", nameof(weight));
        return precision switch
        {
            GemmPrecision.Float32 => x.bmm(weight.transpose(1, 2)),
            GemmPrecision.BFloat16 => BFloat16(x, weight),
            GemmPrecision.Fp8 => GroupedFp8Projection.Supports(x, weight) ? GroupedFp8Projection.Apply(x, weight) : ProjectEach(x, weight, precision),
            _ => throw new InvalidOperationException($"unknown precision {precision}"),
        };
    }

    /// <summary>True when <see cref="Project"/> in FP8 runs the grouped GPU kernels on these tensors (not the per-expert fallback).</summary>
    public static bool GroupsFp8OnGpu(Tensor x, Tensor weight) => GroupedFp8Projection.Supports(x, weight);

    /// <summary>The same product expert by expert through the ordinary per-projection path (the reference the grouped one is checked against).</summary>
    public static Tensor ProjectEach(Tensor x, Tensor weight, GemmPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        using var scope = NewDisposeScope();
        var outputs = new Tensor[x.shape[0]];
        for (var e = 0; e < outputs.Length; e++)
        {
            var xe = x.select(0, e);
            var we = weight.select(0, e);
            outputs[e] = precision switch
            {
                GemmPrecision.Float32 => TorchSharp.torch.nn.functional.linear(xe, we),
                GemmPrecision.BFloat16 => TorchSharp.torch.nn.functional.linear(xe.to(ScalarType.BFloat16), we.to(ScalarType.BFloat16)).to(ScalarType.Float32),
                GemmPrecision.Fp8 => Fp8Projection.Apply(xe, we),
                _ => throw new InvalidOperationException($"unknown precision {precision}"),
            };
        }
        return stack(outputs, 0).MoveToOuterDisposeScope();
    }

    private static Tensor BFloat16(Tensor x, Tensor weight)
    {
        using var scope = NewDisposeScope();
        return x.to(ScalarType.BFloat16).bmm(weight.to(ScalarType.BFloat16).transpose(1, 2)).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Position of every sorted row in the padded batch: expert e's j-th row at e·capacity + j (all distinct).</summary>
    private static long[] Positions(long[] counts, long capacity)
    {
        var positions = new long[counts.Sum()];
        var i = 0;
        for (var e = 0; e < counts.Length; e++)
            for (var j = 0L; j < counts[e]; j++) positions[i++] = (e * capacity) + j;
        return positions;
    }
}
