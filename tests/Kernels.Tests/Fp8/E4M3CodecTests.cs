using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

public class E4M3CodecTests
{
    private static readonly Fp8Format Format = Fp8Format.E4M3;

    private static byte Encode(float x, Fp8Overflow overflow = Fp8Overflow.Saturate) => Fp8ScalarCodec.Encode(x, Format, overflow);

    [Fact]
    public void E4M3_AllCodes_DecodeToSpecValuesAndReencodeToThemselves()
    {
        for (var code = 0; code < 256; code++)
        {
            var expected = SpecFormula.E4M3((byte)code);
            var decoded = Fp8ScalarCodec.Decode((byte)code, Format);
            if (double.IsNaN(expected))
            {
                Assert.True(float.IsNaN(decoded), $"code 0x{code:X2}");
                Assert.Equal(Format.CanonicalNaN, Encode(decoded));
                continue;
            }

            Assert.Equal(expected, decoded);
            Assert.Equal(double.IsNegative(expected), float.IsNegative(decoded)); // -0 keeps its sign
            Assert.Equal((byte)code, Encode(decoded));
        }
    }

    [Fact]
    public void E4M3_OnlyS1111111_IsNaN_AndConstantsMatchSpec()
    {
        var nanCodes = Enumerable.Range(0, 256).Where(c => float.IsNaN(Fp8ScalarCodec.Decode((byte)c, Format))).ToArray();
        Assert.Equal([0x7F, 0xFF], nanCodes);
        Assert.Equal(448f, Format.MaxFinite);
        Assert.Equal(MathF.Pow(2, -6), Format.MinNormal);
        Assert.Equal(MathF.Pow(2, -9), Format.MinSubnormal);
        Assert.Equal(448f, Fp8ScalarCodec.Decode(0x7E, Format));
    }

    [Theory]
    [InlineData(1.0625f, 1.0f)]    // halfway 1.000|1.001 → even mantissa 000
    [InlineData(1.1875f, 1.25f)]   // halfway 1.001|1.010 → even mantissa 010
    [InlineData(17f, 16f)]         // spacing 2 in [16,32): 17 is halfway, 16 is even
    [InlineData(19f, 20f)]
    [InlineData(-1.0625f, -1.0f)]
    [InlineData(-1.1875f, -1.25f)]
    [InlineData(0.013671875f, 0.013671875f)] // 7 · 2^-9: largest subnormal, exact
    [InlineData(0.0146484375f, 0.015625f)]   // 7.5 · 2^-9: halfway to the smallest normal 2^-6 (even)
    public void E4M3_ExactHalfwayCases_RoundToEvenMantissa(float input, float expected) =>
        Assert.Equal(expected, Fp8ScalarCodec.Decode(Encode(input), Format));

    [Fact]
    public void E4M3_JustOffHalfway_RoundsToNearest()
    {
        Assert.Equal(1.125f, Fp8ScalarCodec.Decode(Encode(MathF.BitIncrement(1.0625f)), Format));
        Assert.Equal(1.125f, Fp8ScalarCodec.Decode(Encode(MathF.BitDecrement(1.1875f)), Format));
        Assert.Equal(18f, Fp8ScalarCodec.Decode(Encode(MathF.BitIncrement(17f)), Format));
    }

    [Fact]
    public void E4M3_Overflow_SaturatesByDefault_AndGivesNaNWhenNonSaturating()
    {
        Assert.Equal(0x7E, Encode(448f));
        Assert.Equal(0x7E, Encode(460f));
        Assert.Equal(0x7E, Encode(464f, Fp8Overflow.NonSaturating)); // halfway to the missing 480 rounds to even 448
        Assert.Equal(0x7E, Encode(MathF.BitIncrement(464f)));
        Assert.Equal(0x7F, Encode(MathF.BitIncrement(464f), Fp8Overflow.NonSaturating));
        Assert.Equal(0xFE, Encode(-1e30f));
        Assert.Equal(0x7E, Encode(float.PositiveInfinity));
        Assert.Equal(0xFE, Encode(float.NegativeInfinity));
        Assert.True(Format.IsNaN(Encode(float.NegativeInfinity, Fp8Overflow.NonSaturating)));
        Assert.True(Format.IsNaN(Encode(1e6f, Fp8Overflow.NonSaturating)));
    }

    [Fact]
    public void E4M3_Subnormals_AreExact_AndHalfTheSmallestRoundsToZero()
    {
        var smallest = MathF.Pow(2, -9);
        for (var m = 1; m < 8; m++) Assert.Equal((byte)m, Encode(m * smallest));
        Assert.Equal(0x00, Encode(smallest / 2));                       // tie → even (zero)
        Assert.Equal(0x80, Encode(-smallest / 2));                      // keeps the sign of zero
        Assert.Equal(0x01, Encode(MathF.BitIncrement(smallest / 2)));   // just above the tie
        Assert.Equal(0x02, Encode(1.5f * smallest));                    // tie between 1 and 2 → 2
        Assert.Equal(0x02, Encode(2.5f * smallest));                    // tie between 2 and 3 → 2
        Assert.Equal(0x00, Encode(float.Epsilon));
    }

    [Fact]
    public void E4M3_NaNInputs_EncodeToCanonicalNaN()
    {
        var payloadNaN = BitConverter.UInt32BitsToSingle(0x7F80_0001);
        foreach (var nan in new[] { float.NaN, -float.NaN, payloadNaN })
        {
            Assert.Equal(0x7F, Encode(nan));
            Assert.Equal(0x7F, Encode(nan, Fp8Overflow.NonSaturating));
        }
    }
}
