using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

public class ScaledFp8GemmTests
{
    private static (ScaledFp8Matrix A, ScaledFp8Matrix B) Operands(int m, int n, int k, int seed, double mean = 0, double spread = 1)
    {
        var a = TileQuantizer.Quantize(TestMatrices.Random(m, k, seed, mean, spread), m, k);
        var b = BlockQuantizer.Quantize(TestMatrices.Random(n, k, seed + 1, mean, spread), n, k);
        return (a, b);
    }

    private static void AssertWithinBound(ScaledFp8Matrix a, ScaledFp8Matrix b, ScaledFp8GemmOptions options)
    {
        var c = ScaledFp8Gemm.Multiply(a, b, options);
        var (reference, absSum) = GemmReference.Compute(a, b);
        var bound = GemmReference.RelativeBound(options, a.Columns);
        for (var i = 0; i < c.Length; i++)
        {
            var error = Math.Abs(c[i] - reference[i]);
            Assert.True(error <= (bound * absSum[i]) + 1e-30,
                $"{options.Accumulation} p={options.AccumulatorMantissaBits} {options.Rounding}: element {i} error {error:E3} > bound {bound * absSum[i]:E3}");
        }
    }

    [Theory]
    [InlineData(7, 37, 300)]
    [InlineData(16, 16, 128)]
    [InlineData(3, 129, 1000)]
    public void Fp32Mode_MatchesFp64ReferenceOnDequantisedInputs_WithinFp32Bound(int m, int n, int k)
    {
        var (a, b) = Operands(m, n, k, seed: m + n + k);
        var options = new ScaledFp8GemmOptions { Accumulation = Fp8Accumulation.Fp32 };
        Assert.True(GemmReference.RelativeBound(options, k) < 1e-5); // FP32: ~(128 + K/128) · 2^-24
        AssertWithinBound(a, b, options);
    }

    [Theory]
    [InlineData(14, AccumulatorRounding.TowardZero, 128)]
    [InlineData(14, AccumulatorRounding.NearestEven, 128)]
    [InlineData(10, AccumulatorRounding.TowardZero, 32)]
    [InlineData(7, AccumulatorRounding.NearestEven, 64)]
    public void PromotedLimitedAccumulator_StaysWithinItsNcBound(int bits, AccumulatorRounding rounding, int interval)
    {
        var (a, b) = Operands(5, 21, 1000, seed: bits + interval, mean: 0.5);
        AssertWithinBound(a, b, new ScaledFp8GemmOptions { AccumulatorMantissaBits = bits, Rounding = rounding, PromotionInterval = interval });
    }

    [Theory]
    [InlineData(14, AccumulatorRounding.TowardZero)]
    [InlineData(12, AccumulatorRounding.NearestEven)]
    public void UnpromotedLimitedAccumulator_StaysWithinItsWholeKBound(int bits, AccumulatorRounding rounding)
    {
        var (a, b) = Operands(4, 18, 700, seed: bits, mean: 0.3);
        AssertWithinBound(a, b, new ScaledFp8GemmOptions
        {
            Accumulation = Fp8Accumulation.LimitedWithoutPromotion, AccumulatorMantissaBits = bits, Rounding = rounding,
        });
    }

    [Fact]
    public void Promotion_KeepsALongPositiveSumAccurate_WhereTheUnpromotedAccumulatorDrifts()
    {
        const int k = 4096;
        var (a, b) = Operands(2, 16, k, seed: 9, mean: 1, spread: 0.5);
        var (reference, _) = GemmReference.Compute(a, b);
        double MaxRelativeError(Fp8Accumulation mode)
        {
            var c = ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions { Accumulation = mode });
            return c.Select((x, i) => Math.Abs(x - reference[i]) / Math.Abs(reference[i])).Max();
        }

        var unpromoted = MaxRelativeError(Fp8Accumulation.LimitedWithoutPromotion);
        var promoted = MaxRelativeError(Fp8Accumulation.LimitedWithPromotion);
        Assert.True(unpromoted > 0.01, $"a 14-bit truncating accumulator over K=4096 should drift by > 1 %, got {unpromoted:P3}");
        Assert.True(promoted < unpromoted / 10, $"promoted {promoted:P3} vs unpromoted {unpromoted:P3}");
    }

    [Fact]
    public void LimitedAccumulator_DropsAddendsBelowItsLastBit_AndPromotionRecoversThem()
    {
        // Power-of-two scales (2^-8) make every code exact: A = [1, 1/8, 1/8] → codes 256, 32, 32; B = ones.
        var a = TileQuantizer.Quantize([1f, 0.125f, 0.125f], 1, 3, Fp8ScaleMode.PowerOfTwo);
        var b = BlockQuantizer.Quantize([1f, 1f, 1f], 1, 3, Fp8ScaleMode.PowerOfTwo);
        float Run(int bits, AccumulatorRounding rounding, int interval, Fp8Accumulation mode) =>
            ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions
            {
                AccumulatorMantissaBits = bits, Rounding = rounding, PromotionInterval = interval, Accumulation = mode,
            })[0];

        // 2 mantissa bits: 1 + 1/8 is not representable (1.001b), so each 1/8 is dropped.
        Assert.Equal(1f, Run(2, AccumulatorRounding.TowardZero, 128, Fp8Accumulation.LimitedWithPromotion));
        Assert.Equal(1f, Run(2, AccumulatorRounding.NearestEven, 128, Fp8Accumulation.LimitedWithoutPromotion)); // tie → even
        Assert.Equal(1.25f, Run(3, AccumulatorRounding.TowardZero, 128, Fp8Accumulation.LimitedWithoutPromotion));
        Assert.Equal(1.25f, Run(2, AccumulatorRounding.TowardZero, 1, Fp8Accumulation.LimitedWithPromotion)); // FP32 every product
        Assert.Equal(1.25f, Run(2, AccumulatorRounding.TowardZero, 128, Fp8Accumulation.Fp32));
    }

    [Fact]
    public void Results_AreBitIdentical_ForAnyThreadCount()
    {
        var (a, b) = Operands(67, 45, 520, seed: 5, mean: 0.2);
        foreach (var mode in Enum.GetValues<Fp8Accumulation>())
        {
            var single = ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions { Accumulation = mode, MaxDegreeOfParallelism = 1 });
            var two = ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions { Accumulation = mode, MaxDegreeOfParallelism = 2 });
            var pool = ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions { Accumulation = mode });
            Assert.Equal(single, two);
            Assert.Equal(single, pool);
        }
    }

    [Fact]
    public void MismatchedOperandsAndOptions_AreRejected()
    {
        var (a, b) = Operands(2, 2, 256, seed: 6);
        var (_, shortB) = Operands(2, 2, 128, seed: 7);
        Assert.Throws<ArgumentException>(() => ScaledFp8Gemm.Multiply(a, shortB));
        Assert.Throws<ArgumentException>(() => ScaledFp8Gemm.Multiply(b, b)); // B's 128x128 blocks are not activation tiles
        Assert.Throws<ArgumentOutOfRangeException>(() => ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions { PromotionInterval = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScaledFp8Gemm.Multiply(a, b, new ScaledFp8GemmOptions { AccumulatorMantissaBits = 24 }));
    }
}
