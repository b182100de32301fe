using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

/// <summary>FP64 GEMM on the dequantised operands, and the error bounds each accumulation mode must meet.</summary>
internal static class GemmReference
{
    public const double Fp32Unit = 1.0 / (1 << 24);

    /// <summary>Exact-ish C = A·Bᵀ in double, and Σ|a·b| per element (the scale of every rounding error).</summary>
    public static (double[] C, double[] AbsSum) Compute(ScaledFp8Matrix a, ScaledFp8Matrix b)
    {
        var k = a.Columns;
        var da = Dequantize(a);
        var db = Dequantize(b);
        var c = new double[a.Rows * b.Rows];
        var abs = new double[a.Rows * b.Rows];
        for (var i = 0; i < a.Rows; i++)
        {
            for (var j = 0; j < b.Rows; j++)
            {
                double sum = 0, absSum = 0;
                for (var kk = 0; kk < k; kk++)
                {
                    var product = da[(i * k) + kk] * db[(j * k) + kk];
                    sum += product;
                    absSum += Math.Abs(product);
                }

                c[(i * b.Rows) + j] = sum;
                abs[(i * b.Rows) + j] = absSum;
            }
        }

        return (c, abs);
    }

    /// <summary>Higham's γ_n = n·u / (1 − n·u): the relative error bound of n roundings of unit u.</summary>
    public static double Gamma(int n, double unit) => n * unit / (1 - (n * unit));

    /// <summary>
    /// Bound on |C − C_ref| / Σ|a·b| for the options: the limited accumulator makes at most L roundings
    /// (L = N_C with promotion, K without) of unit 2^-p (truncation) or 2^-(p+1) (nearest-even), and the
    /// FP32 side adds one rounding per promotion plus two for the scale products. 1 % slack covers the
    /// cross terms of the product of (1 + γ) factors.
    /// </summary>
    public static double RelativeBound(ScaledFp8GemmOptions options, int k)
    {
        var fp32 = options.Accumulation == Fp8Accumulation.Fp32;
        var bits = fp32 ? 23 : options.AccumulatorMantissaBits;
        var nearest = fp32 || options.Rounding == AccumulatorRounding.NearestEven;
        var unit = Math.ScaleB(1.0, -(bits + (nearest ? 1 : 0)));
        var interval = fp32 ? 128 : options.PromotionInterval;
        var limitedLength = options.Accumulation == Fp8Accumulation.LimitedWithoutPromotion ? k : Math.Min(k, interval);
        var promotions = options.Accumulation == Fp8Accumulation.LimitedWithoutPromotion ? 1 : (k + interval - 1) / interval;
        return (Gamma(limitedLength, unit) + Gamma(promotions + 2, Fp32Unit)) * 1.01;
    }

    private static double[] Dequantize(ScaledFp8Matrix m)
    {
        var result = new double[m.Codes.Length];
        for (var r = 0; r < m.Rows; r++)
            for (var c = 0; c < m.Columns; c++)
                result[(r * m.Columns) + c] = Fp8ScalarCodec.Decode(m.Codes[(r * m.Columns) + c], m.Format) * (double)m.ScaleAt(r, c);
        return result;
    }
}
