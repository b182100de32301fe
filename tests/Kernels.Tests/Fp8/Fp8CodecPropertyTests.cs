using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

public class Fp8CodecPropertyTests
{
    private static readonly Fp8Format[] Formats = [Fp8Format.E4M3, Fp8Format.E5M2];
    private static readonly Fp8Overflow[] Overflows = [Fp8Overflow.Saturate, Fp8Overflow.NonSaturating];

    [Property(MaxTest = 300)]
    public Property VectorisedEncode_EqualsScalarReference_OnRandomAndEdgeFloats() =>
        Prop.ForAll(Fp8Generators.MixedArrays, values =>
        {
            foreach (var format in Formats)
            {
                foreach (var overflow in Overflows)
                {
                    var bulk = new byte[values.Length];
                    Fp8Codec.Encode(values, bulk, format, overflow);
                    for (var i = 0; i < values.Length; i++)
                        if (bulk[i] != Fp8ScalarCodec.Encode(values[i], format, overflow)) return false;
                }
            }

            return true;
        });

    [Property(MaxTest = 200)]
    public Property VectorisedEncodeWithScale_EqualsScalarEncodeOfQuotient() =>
        Prop.ForAll(Fp8Generators.MixedArrays, Gen.Choose(1, 1_000_000).Select(n => n / 1024f).ToArbitrary(), (values, scale) =>
        {
            var bulk = new byte[values.Length];
            Fp8Codec.Encode(values, bulk, Fp8Format.E4M3, Fp8Overflow.Saturate, scale);
            return values.Select((x, i) => bulk[i] == Fp8ScalarCodec.Encode(x / scale, Fp8Format.E4M3)).All(ok => ok);
        });

    [Property(MaxTest = 200)]
    public Property Bfloat16Encode_EqualsScalarEncodeOfWidenedValue() =>
        Prop.ForAll(Fp8Generators.MixedArrays, values =>
        {
            var bf16 = values.Select(x => (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16)).ToArray();
            foreach (var format in Formats)
            {
                var bulk = new byte[bf16.Length];
                Fp8Codec.Encode(bf16, bulk, format);
                for (var i = 0; i < bf16.Length; i++)
                {
                    var widened = BitConverter.UInt32BitsToSingle((uint)bf16[i] << 16);
                    if (bulk[i] != Fp8ScalarCodec.Encode(widened, format)) return false;
                }
            }

            return true;
        });

    [Property(MaxTest = 100)]
    public Property VectorisedDecode_EqualsScalarReference_ForCodesInAnyOrder() =>
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(c => (byte)c)).ToArbitrary(), codes =>
        {
            foreach (var format in Formats)
            {
                var floats = new float[codes.Length];
                var bf16 = new ushort[codes.Length];
                Fp8Codec.Decode(codes, floats, format);
                Fp8Codec.Decode(codes, bf16, format);
                for (var i = 0; i < codes.Length; i++)
                {
                    var expected = Fp8ScalarCodec.Decode(codes[i], format);
                    if (BitConverter.SingleToUInt32Bits(floats[i]) != BitConverter.SingleToUInt32Bits(expected)) return false;
                    if (bf16[i] != BitConverter.SingleToUInt32Bits(expected) >> 16) return false;
                    if ((BitConverter.SingleToUInt32Bits(expected) & 0xFFFF) != 0) return false; // exact in bf16
                }
            }

            return true;
        });

    [Fact]
    public void VectorisedEncode_EqualsScalarReference_OnAMillionRandomBitPatterns()
    {
        var random = new Random(20261129);
        var values = new float[1 << 20];
        for (var i = 0; i < values.Length; i++)
            values[i] = i % 2 == 0 ? BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next() << 1))
                                   : (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-22, 18)));
        foreach (var format in Formats)
        {
            foreach (var overflow in Overflows)
            {
                var bulk = new byte[values.Length];
                Fp8Codec.Encode(values, bulk, format, overflow);
                for (var i = 0; i < values.Length; i++)
                    Assert.True(bulk[i] == Fp8ScalarCodec.Encode(values[i], format, overflow),
                        $"{format} {overflow}: {values[i]:R} (0x{BitConverter.SingleToUInt32Bits(values[i]):X8})");
            }
        }
    }

    [Fact]
    public void Decode_AppliesScaleByMultiplication()
    {
        var codes = Enumerable.Range(0, 256).Select(c => (byte)c).Where(c => !Fp8Format.E4M3.IsNaN(c)).ToArray();
        var scaled = new float[codes.Length];
        Fp8Codec.Decode(codes, scaled, Fp8Format.E4M3, 0.375f);
        for (var i = 0; i < codes.Length; i++)
            Assert.Equal(Fp8ScalarCodec.Decode(codes[i], Fp8Format.E4M3) * 0.375f, scaled[i]);
    }
}
