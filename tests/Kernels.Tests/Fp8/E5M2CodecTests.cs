using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

public class E5M2CodecTests
{
    private static readonly Fp8Format Format = Fp8Format.E5M2;

    private static byte Encode(float x, Fp8Overflow overflow = Fp8Overflow.Saturate) => Fp8ScalarCodec.Encode(x, Format, overflow);

    [Fact]
    public void E5M2_AllCodes_DecodeToSpecValuesAndReencodeToThemselves()
    {
        for (var code = 0; code < 256; code++)
        {
            var expected = SpecFormula.E5M2((byte)code);
            var decoded = Fp8ScalarCodec.Decode((byte)code, Format);
            if (double.IsNaN(expected))
            {
                Assert.True(float.IsNaN(decoded), $"code 0x{code:X2}");
                Assert.Equal(Format.CanonicalNaN, Encode(decoded));
                continue;
            }

            Assert.Equal(expected, decoded);
            // Infinities survive only without saturation (saturation clamps them to ±57344 by design).
            Assert.Equal((byte)code, Encode(decoded, Fp8Overflow.NonSaturating));
        }
    }

    [Fact]
    public void E5M2_SpecialsAndConstants_MatchSpec()
    {
        Assert.Equal(57344f, Format.MaxFinite);
        Assert.Equal(MathF.Pow(2, -16), Format.MinSubnormal);
        Assert.Equal(float.PositiveInfinity, Fp8ScalarCodec.Decode(0x7C, Format));
        Assert.Equal(float.NegativeInfinity, Fp8ScalarCodec.Decode(0xFC, Format));
        foreach (var nan in new byte[] { 0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF })
            Assert.True(float.IsNaN(Fp8ScalarCodec.Decode(nan, Format)));
        Assert.Equal(0x7E, Encode(float.NaN));
    }

    [Theory]
    [InlineData(1.125f, 1.0f)]   // halfway 1.00|1.01 → even 1.00
    [InlineData(1.375f, 1.5f)]   // halfway 1.01|1.10 → even 1.10
    [InlineData(-1.125f, -1.0f)]
    [InlineData(9f, 8f)]         // spacing 2 in [8,16)
    [InlineData(11f, 12f)]
    public void E5M2_ExactHalfwayCases_RoundToEvenMantissa(float input, float expected) =>
        Assert.Equal(expected, Fp8ScalarCodec.Decode(Encode(input), Format));

    [Fact]
    public void E5M2_Overflow_SaturatesByDefault_AndGivesInfinityWhenNonSaturating()
    {
        Assert.Equal(0x7B, Encode(57344f));
        Assert.Equal(0x7B, Encode(MathF.BitDecrement(61440f), Fp8Overflow.NonSaturating));
        Assert.Equal(0x7C, Encode(61440f, Fp8Overflow.NonSaturating)); // halfway to 2^16 rounds to even: overflow
        Assert.Equal(0x7B, Encode(61440f));
        Assert.Equal(0xFC, Encode(-1e9f, Fp8Overflow.NonSaturating));
        Assert.Equal(0xFB, Encode(float.NegativeInfinity));
        Assert.Equal(0x7C, Encode(float.PositiveInfinity, Fp8Overflow.NonSaturating));
    }

    [Fact]
    public void E5M2_Subnormals_AreExact_AndHalfTheSmallestRoundsToZero()
    {
        var smallest = MathF.Pow(2, -16);
        for (var m = 1; m < 4; m++) Assert.Equal((byte)m, Encode(m * smallest));
        Assert.Equal(0x00, Encode(smallest / 2));
        Assert.Equal(0x01, Encode(MathF.BitIncrement(smallest / 2)));
        Assert.Equal(0x02, Encode(1.5f * smallest));
        Assert.Equal(0x04, Encode(3.5f * smallest)); // halfway to the smallest normal 2^-14 (even)
    }
}
