using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>Unscaled decoded operands, packed for the kernel, plus the numerics chosen.</summary>
internal sealed class GemmPlan
{
    /// <summary>Output columns per register tile (four double or two float vectors).</summary>
    public const int GroupColumns = 16;

    private const int Fp32Bits = 23;
    private readonly float[] _a;          // M×K decoded A codes (unscaled)
    private readonly double[] _b;         // per group: K×16 decoded B codes (unscaled), zero-padded
    private readonly float[] _bFloat;     // the same panel in float, for the FP32 mode
    private readonly double[] _bScales;   // per K-block: N (padded) B scales, one per output column
    private readonly float[] _bScalesFloat;
    private readonly float[] _aScales;
    private readonly int _k;
    private readonly int _kBlock;
    private readonly int _kBlocks;
    private readonly int _paddedN;
    private readonly int _bits;
    private readonly bool _nearestEven;
    private readonly int _interval;
    private readonly bool _promote;
    private readonly bool _fp32;

    public GemmPlan(ScaledFp8Matrix a, ScaledFp8Matrix b, ScaledFp8GemmOptions options)
    {
        _k = a.Columns;
        _kBlock = a.BlockColumns;
        _kBlocks = a.ScaleColumns;
        Groups = (b.Rows + GroupColumns - 1) / GroupColumns;
        _paddedN = Groups * GroupColumns;
        _fp32 = options.Accumulation == Fp8Accumulation.Fp32;
        _bits = _fp32 ? Fp32Bits : options.AccumulatorMantissaBits;
        _nearestEven = _fp32 || options.Rounding == AccumulatorRounding.NearestEven;
        _interval = _fp32 ? _kBlock : options.PromotionInterval;
        _promote = options.Accumulation != Fp8Accumulation.LimitedWithoutPromotion;

        _a = new float[a.Codes.Length];
        Fp8Codec.Decode(a.Codes, _a, a.Format);
        _aScales = a.Scales;

        var decodedRow = new float[_k];
        // FP32 mode runs on float lanes (native IEEE rounding), the limited modes on double lanes.
        _b = _fp32 ? [] : new double[_paddedN * _k];
        _bFloat = _fp32 ? new float[_paddedN * _k] : [];
        _bScales = new double[_kBlocks * _paddedN];
        for (var n = 0; n < b.Rows; n++)
        {
            Fp8Codec.Decode(b.Codes.AsSpan(n * _k, _k), decodedRow, b.Format);
            var panel = n / GroupColumns * _k * GroupColumns;
            for (var k = 0; k < _k; k++)
            {
                var index = panel + (k * GroupColumns) + (n % GroupColumns);
                if (_fp32) _bFloat[index] = decodedRow[k];
                else if (_promote) _b[index] = decodedRow[k];
                else _b[index] = decodedRow[k] * ((double)b.ScaleAt(n, k) / b.ScaleAt(n, 0)); // 1 when uniform along K
            }

            for (var kb = 0; kb < _kBlocks; kb++) _bScales[(kb * _paddedN) + n] = b.ScaleAt(n, kb * _kBlock);
        }

        // Padding columns get scale 1 so that their (zero) results stay finite.
        for (var n = b.Rows; n < _paddedN; n++)
            for (var kb = 0; kb < _kBlocks; kb++) _bScales[(kb * _paddedN) + n] = 1;
        _bScalesFloat = Array.ConvertAll(_bScales, scale => (float)scale); // exact: they were floats
    }

    public int Groups { get; }

    public void ComputeGroup(int row, int group, Span<double> result)
    {
        if (_kBlocks == 0)
        {
            result.Clear(); // K = 0: the empty sum
            return;
        }

        if (_fp32)
        {
            ComputeGroupFp32(row, group, result);
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
            // Without promotion the scales cannot be applied per K-block; the row's part enters here
            // as a factor relative to K-block 0 and the column's part was folded into the panel.
            var aFactor = _promote ? 1.0 : (double)scaleRow[kb] / scaleRow[0];
            var end = Math.Min(_k, (kb + 1) * _kBlock);
            for (var start = kb * _kBlock; start < end; start += _interval)
            {
                var stop = Math.Min(end, start + _interval);
                var products = aRow[start..stop];
                var rows = panel.Slice(start * 4, (stop - start) * 4);
                if (_nearestEven) GemmKernel<NearestEvenRounding>.Accumulate(products, aFactor, rows, ref sum, limited);
                else GemmKernel<TowardZeroRounding>.Accumulate(products, aFactor, rows, ref sum, limited);
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

    /// <summary>
    /// Plain FP32: per K-block, products summed in float (each FP8×FP8 product is exact in float, so
    /// only the additions round, to nearest even), then scaled by fl32(sa·sb) and added to the float total.
    /// </summary>
    private void ComputeGroupFp32(int row, int group, Span<double> result)
    {
        var panel = MemoryMarshal.Cast<float, Vector256<float>>(_bFloat.AsSpan(group * _k * GroupColumns, _k * GroupColumns));
        ref var b = ref MemoryMarshal.GetReference(panel);
        var aRow = _a.AsSpan(row * _k, _k);
        var first = group * GroupColumns;
        var (t0, t1) = (Vector256<float>.Zero, Vector256<float>.Zero);
        for (var kb = 0; kb < _kBlocks; kb++)
        {
            var (p0, p1) = (Vector256<float>.Zero, Vector256<float>.Zero);
            var end = Math.Min(_k, (kb + 1) * _kBlock);
            for (var k = kb * _kBlock; k < end; k++)
            {
                var av = Vector256.Create(aRow[k]);
                ref var panelRow = ref Unsafe.Add(ref b, k * 2);
                p0 += av * panelRow;
                p1 += av * Unsafe.Add(ref panelRow, 1);
            }

            var sa = Vector256.Create(_aScales[(row * _kBlocks) + kb]);
            var scales = _bScalesFloat.AsSpan((kb * _paddedN) + first, GroupColumns);
            t0 += p0 * (sa * Vector256.Create<float>(scales[..8]));
            t1 += p1 * (sa * Vector256.Create<float>(scales[8..]));
        }

        Vector256.WidenLower(t0).CopyTo(result);
        Vector256.WidenUpper(t0).CopyTo(result[4..]);
        Vector256.WidenLower(t1).CopyTo(result[8..]);
        Vector256.WidenUpper(t1).CopyTo(result[12..]);
    }

    // sa · sb per output column, in double (exact: a product of two floats).
    private GemmLanes ScalePair(float aScale, int kb, int firstColumn)
    {
        var scales = MemoryMarshal.Cast<double, Vector256<double>>(_bScales.AsSpan((kb * _paddedN) + firstColumn, GroupColumns));
        var sa = Vector256.Create((double)aScale);
        return new GemmLanes(sa * scales[0], sa * scales[1], sa * scales[2], sa * scales[3]);
    }
}
