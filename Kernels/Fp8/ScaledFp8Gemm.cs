namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Exact CPU emulation of DeepSeek-V3's FP8 GEMM: <c>C[M,N] = A[M,K] · B[N,K]ᵀ</c> with A scaled per
/// 1×128 tile and B per 128×128 block, products accumulated in a modelled limited-precision tensor-core
/// accumulator and (optionally) promoted to FP32 every N_C elements (see <see cref="Fp8Accumulation"/>).
/// </summary>
/// <remarks>
/// FP8×FP8 products are exact (≤ 8 significant bits), as on the hardware; only the accumulations round.
/// Each output element is a fixed sequence of operations whatever the thread count, so results are
/// deterministic. The inner loop runs 16 output columns at once: four <c>Vector256&lt;double&gt;</c> for the
/// limited-accumulator modes (sums formed in double, then rounded explicitly), two <c>Vector256&lt;float&gt;</c>
/// for the FP32 mode (native IEEE float rounding).
/// </remarks>
public static class ScaledFp8Gemm
{
    private const int RowsPerTask = 8;

    /// <summary>Computes C (row-major M×N) into a new array.</summary>
    public static float[] Multiply(ScaledFp8Matrix a, ScaledFp8Matrix b, ScaledFp8GemmOptions? options = null)
    {
        var c = new float[a.Rows * b.Rows];
        Multiply(a, b, c, options);
        return c;
    }

    /// <summary>Computes C (row-major M×N) into <paramref name="c"/>.</summary>
    public static void Multiply(ScaledFp8Matrix a, ScaledFp8Matrix b, float[] c, ScaledFp8GemmOptions? options = null)
    {
        options ??= ScaledFp8GemmOptions.Default;
        Validate(a, b, c, options);
        var plan = new GemmPlan(a, b, options);
        var rowTasks = (a.Rows + RowsPerTask - 1) / RowsPerTask;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism };
        // A task owns a strip of rows and walks the packed B group by group, so each group's K×16
        // panel is reused from cache by all the rows of the strip.
        Parallel.For(0, rowTasks, parallel, task =>
        {
            Span<double> result = stackalloc double[GemmPlan.GroupColumns];
            var lastRow = Math.Min(a.Rows, (task + 1) * RowsPerTask);
            for (var group = 0; group < plan.Groups; group++)
            {
                for (var row = task * RowsPerTask; row < lastRow; row++)
                {
                    plan.ComputeGroup(row, group, result);
                    var first = group * GemmPlan.GroupColumns;
                    var count = Math.Min(GemmPlan.GroupColumns, b.Rows - first);
                    for (var j = 0; j < count; j++) c[(row * b.Rows) + first + j] = (float)result[j];
                }
            }
        });
    }

    private static void Validate(ScaledFp8Matrix a, ScaledFp8Matrix b, float[] c, ScaledFp8GemmOptions options)
    {
        if (a.Columns != b.Columns)
            throw new ArgumentException($"Inner dimensions differ: A is {a.Rows}x{a.Columns}, B is {b.Rows}x{b.Columns} (C = A·Bᵀ).");
        if (a.BlockRows != 1)
            throw new ArgumentException($"A must be scaled per 1x{a.BlockColumns} row tile (activations); it has {a.BlockRows}x{a.BlockColumns} tiles.", nameof(a));
        if (a.BlockColumns != b.BlockColumns)
            throw new ArgumentException($"A and B tiles must span the same K-block: {a.BlockColumns} vs {b.BlockColumns}.");
        if (c.Length < a.Rows * b.Rows)
            throw new ArgumentException($"C holds {c.Length} elements; {a.Rows}x{b.Rows} needed.", nameof(c));
        if (options.AccumulatorMantissaBits is < 1 or > 23)
            throw new ArgumentOutOfRangeException(nameof(options), options.AccumulatorMantissaBits, "AccumulatorMantissaBits must be 1..23.");
        if (options.PromotionInterval <= 0 || a.BlockColumns % options.PromotionInterval != 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.PromotionInterval,
                $"PromotionInterval must divide the K-block size {a.BlockColumns}, so one promotion never mixes two tiles' scales.");
    }
}
