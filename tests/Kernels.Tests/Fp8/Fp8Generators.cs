using FsCheck;
using FsCheck.Fluent;
using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

/// <summary>Floats that exercise every branch of an FP8 encoder.</summary>
internal static class Fp8Generators
{
    /// <summary>Any bit pattern: NaNs with payloads, infinities, float subnormals, huge values.</summary>
    public static Gen<float> AnyBits =>
        Gen.Choose(int.MinValue, int.MaxValue).Select(bits => BitConverter.Int32BitsToSingle(bits));

    /// <summary>Values in and around the FP8 ranges, including their subnormal ranges.</summary>
    public static Gen<float> NearRange =>
        from exponent in Gen.Choose(-20, 17)
        from fraction in Gen.Choose(0, (1 << 23) - 1)
        from negative in Gen.Elements(false, true)
        let magnitude = MathF.ScaleB(1f + (fraction / (float)(1 << 23)), exponent)
        select negative ? -magnitude : magnitude;

    /// <summary>Exact midpoints between neighbouring E4M3/E5M2 values, and one float ULP either side.</summary>
    public static Gen<float> Midpoints =>
        from code in Gen.Choose(0, 254)
        from e5m2 in Gen.Elements(false, true)
        from nudge in Gen.Choose(-1, 1)
        let format = e5m2 ? Fp8Format.E5M2 : Fp8Format.E4M3
        let low = Fp8ScalarCodec.Decode((byte)code, format)
        let high = Fp8ScalarCodec.Decode((byte)(code + 1), format)
        let mid = (low + high) / 2
        where float.IsFinite(mid)
        select nudge < 0 ? MathF.BitDecrement(mid) : nudge > 0 ? MathF.BitIncrement(mid) : mid;

    public static Gen<float> Specials => Gen.Elements(
        0f, -0f, float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon,
        448f, 464f, MathF.BitIncrement(464f), 57344f, 61440f, MathF.BitDecrement(61440f), float.MaxValue, -float.MaxValue);

    public static Gen<float> Mixed => Gen.Frequency((3, AnyBits), (4, NearRange), (3, Midpoints), (1, Specials));

    /// <summary>Arrays long enough to run the 32-wide vector body and a scalar tail.</summary>
    public static Arbitrary<float[]> MixedArrays =>
        (from length in Gen.Choose(0, 200)
         from values in Gen.ArrayOf(Mixed, length)
         select values).ToArbitrary();
}
