using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Exact CPU emulation of DeepSeek-V3's FP8 GEMM: <c>C[M,N] = A[M,K] · B[N,K]ᵀ</c> with A scaled per
/// 1×128 tile and B per 128×128 block, products accumulated in a modelled limited-precision tensor-core
/// accumulator and (optionally) promoted to FP32 every N_C elements (see <see cref="Fp8Accumulation"/>).
/// </summary>
/// <remarks>
/// FP8×FP8 products are exact (≤ 8 significant bits), as on the hardware; only the accumulations round.
/// Each output element is a fixed sequence of operations whatever the thread count, so results are
/// deterministic. The inner loop runs 16 output columns at once (four <c>Vector256&lt;double&gt;</c>).
/// </remarks>
public static class ScaledFp8Gemm
{
    private const int GroupColumns = 16;
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
            Span<double> result = stackalloc double[GroupColumns];
            var lastRow = Math.Min(a.Rows, (task + 1) * RowsPerTask);
            for (var group = 0; group < plan.Groups; group++)
            {
                for (var row = task * RowsPerTask; row < lastRow; row++)
                {
                    plan.ComputeGroup(row, group, result);
                    var first = group * GroupColumns;
                    var count = Math.Min(GroupColumns, b.Rows - first);
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

    /// <summary>Unscaled decoded operands, packed for the kernel, plus the numerics chosen.</summary>
    private sealed class GemmPlan
    {
        private const int Fp32Bits = 23;
        private readonly float[] _a;          // M×K decoded A codes (unscaled)
        private readonly double[] _b;         // per group: K×16 decoded B codes (unscaled), zero-padded
        private readonly double[] _bScales;   // per K-block: N (padded) B scales, one per output column
        private readonly float[] _aScales;
        private readonly int _k;
        private readonly int _kBlock;
        private readonly int _kBlocks;
        private readonly int _paddedN;
        private readonly int _bits;
        private readonly bool _nearestEven;
        private readonly int _interval;
        private readonly bool _promote;

        public GemmPlan(ScaledFp8Matrix a, ScaledFp8Matrix b, ScaledFp8GemmOptions options)
        {
            _k = a.Columns;
            _kBlock = a.BlockColumns;
            _kBlocks = a.ScaleColumns;
            Groups = (b.Rows + GroupColumns - 1) / GroupColumns;
            _paddedN = Groups * GroupColumns;
            var fp32 = options.Accumulation == Fp8Accumulation.Fp32;
            _bits = fp32 ? Fp32Bits : options.AccumulatorMantissaBits;
            _nearestEven = fp32 || options.Rounding == AccumulatorRounding.NearestEven;
            _interval = fp32 ? _kBlock : options.PromotionInterval;
            _promote = options.Accumulation != Fp8Accumulation.LimitedWithoutPromotion;

            _a = new float[a.Codes.Length];
            Fp8Codec.Decode(a.Codes, _a, a.Format);
            _aScales = a.Scales;

            var decodedRow = new float[_k];
            _b = new double[_paddedN * _k];
            _bScales = new double[_kBlocks * _paddedN];
            for (var n = 0; n < b.Rows; n++)
            {
                Fp8Codec.Decode(b.Codes.AsSpan(n * _k, _k), decodedRow, b.Format);
                var panel = n / GroupColumns * _k * GroupColumns;
                for (var k = 0; k < _k; k++) _b[panel + (k * GroupColumns) + (n % GroupColumns)] = decodedRow[k];
                for (var kb = 0; kb < _kBlocks; kb++) _bScales[(kb * _paddedN) + n] = b.ScaleAt(n, kb * _kBlock);
            }

            // Padding columns get scale 1 so that their (zero) results stay finite.
            for (var n = b.Rows; n < _paddedN; n++)
                for (var kb = 0; kb < _kBlocks; kb++) _bScales[(kb * _paddedN) + n] = 1;
        }

        public int Groups { get; }

        public void ComputeGroup(int row, int group, Span<double> result)
        {
            if (_kBlocks == 0)
            {
                result.Clear(); // K = 0: the empty sum
                return;
            }

            var limited = new AccumulatorRounder(_bits, _nearestEven);
            var fp32 = new AccumulatorRounder(Fp32Bits, nearestEven: true);
            var panel = MemoryMarshal.Cast<double, Vector256<double>>(_b.AsSpan(group * _k * GroupColumns, _k * GroupColumns));
            var scaleRow = _aScales.AsSpan(row * _kBlocks, _kBlocks);
            var aRow = _a.AsSpan(row * _k, _k);
            var first = group * GroupColumns;
            var total = default(GemmLanes);
            var sum = default(GemmLanes);
            var baseScale = ScalePair(scaleRow[0], 0, first);
            for (var kb = 0; kb < _kBlocks; kb++)
            {
                var scale = ScalePair(scaleRow[kb], kb, first);
                var ratio = scale.Divide(baseScale);
                var uniform = _promote || ratio.IsAllOnes;
                var end = Math.Min(_k, (kb + 1) * _kBlock);
                for (var start = kb * _kBlock; start < end; start += _interval)
                {
                    var stop = Math.Min(end, start + _interval);
                    var products = aRow[start..stop];
                    var rows = panel.Slice(start * 4, (stop - start) * 4);
                    if (_nearestEven) GemmKernel<NearestEvenRounding>.Accumulate(products, rows, ref sum, ratio, !uniform, limited);
                    else GemmKernel<TowardZeroRounding>.Accumulate(products, rows, ref sum, ratio, !uniform, limited);
                    if (_promote)
                    {
                        // Promotion: scale the partial sum in FP32 (CUDA cores) and add it to the FP32 total.
                        total.AddScaled(sum, fp32.Apply(scale), fp32);
                        sum = default;
                    }
                }
            }

            if (!_promote) total.AddScaled(sum, fp32.Apply(baseScale), fp32);
            total.CopyTo(result);
        }

        // sa · sb per output column, in double (exact: a product of two floats).
        private GemmLanes ScalePair(float aScale, int kb, int firstColumn)
        {
            var scales = MemoryMarshal.Cast<double, Vector256<double>>(_bScales.AsSpan((kb * _paddedN) + firstColumn, GroupColumns));
            var sa = Vector256.Create((double)aScale);
            return new GemmLanes(sa * scales[0], sa * scales[1], sa * scales[2], sa * scales[3]);
        }
    }
}
