using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// The bit-manipulation kernels behind <see cref="Fp8Codec"/>: float32 bits ↔ FP8 codes, one lane at a
/// time (scalar tail) or eight at a time (<see cref="Vector256{T}"/>). Both forms are the same integer
/// recipe, so the tail and the body cannot disagree; <see cref="Fp8ScalarCodec"/> is the independent
/// reference they are tested against.
/// </summary>
/// <remarks>
/// Overflow handling relies on the layouts: the non-saturating overflow code (NaN for E4M3, infinity
/// for E5M2) is max-finite + 1, so "clamp the code to the overflow code" implements both modes with a
/// single min. Every compared quantity is below 2^31, so signed compares (one AVX2 instruction) are exact.
/// </remarks>
internal static class Fp8Lanes<TLayout>
    where TLayout : struct, IFp8Layout
{
    private const int AbsMask = 0x7FFF_FFFF;
    private const int InfinityBits = 0x7F80_0000;
    private const int NaNBits = unchecked((int)0xFFC0_0000); // float.NaN, as the scalar reference returns

    private static int Shift => 23 - TLayout.MantissaBits;                       // float mantissa bits dropped

    private static int RoundHalf => (1 << (Shift - 1)) - 1;                      // + LSB = ties-to-even bias

    private static int Rebias => (127 - TLayout.Bias) << TLayout.MantissaBits;  // float → FP8 exponent field

    private static int MinNormalBits => (128 - TLayout.Bias) << 23;              // float bits of 2^(1-bias)

    // 2^(emin - m + 23): adding it makes the FPU round (to nearest even) at the FP8 subnormal spacing.
    private static float SubnormalMagic => BitConverter.Int32BitsToSingle((151 - TLayout.Bias - TLayout.MantissaBits) << 23);

    private static float MinSubnormal => BitConverter.Int32BitsToSingle((128 - TLayout.Bias - TLayout.MantissaBits) << 23); // 2^(1-bias-m)

    private static float RebiasFactor => BitConverter.Int32BitsToSingle((127 + 127 - TLayout.Bias) << 23); // 2^(127-bias)

    public static int OverflowCode(Fp8Overflow overflow) =>
        overflow == Fp8Overflow.Saturate ? TLayout.MaxFiniteCode : TLayout.MaxFiniteCode + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Encode(uint bits, int overflowCode)
    {
        var abs = (int)(bits & AbsMask);
        if (abs > InfinityBits) return (uint)TLayout.CanonicalNaN;
        var code = abs < MinNormalBits
            ? BitConverter.SingleToInt32Bits(BitConverter.Int32BitsToSingle(abs) + SubnormalMagic) - BitConverter.SingleToInt32Bits(SubnormalMagic)
            : ((abs + RoundHalf + ((abs >> Shift) & 1)) >> Shift) - Rebias;
        return (uint)(Math.Min(code, overflowCode) | (int)((bits >> 24) & 0x80));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Encode(Vector256<int> bits, Vector256<int> overflowCode)
    {
        var abs = bits & Vector256.Create(AbsMask);
        var magic = Vector256.Create(SubnormalMagic);
        var subnormal = (abs.AsSingle() + magic).AsInt32() - magic.AsInt32();
        var normal = Vector256.ShiftRightLogical(
            abs + Vector256.Create(RoundHalf) + (Vector256.ShiftRightLogical(abs, Shift) & Vector256<int>.One), Shift)
            - Vector256.Create(Rebias);
        var code = Vector256.ConditionalSelect(Vector256.LessThan(abs, Vector256.Create(MinNormalBits)), subnormal, normal);
        code = Vector256.Min(code, overflowCode) | (Vector256.ShiftRightLogical(bits, 24) & Vector256.Create(0x80));
        return Vector256.ConditionalSelect(Vector256.GreaterThan(abs, Vector256.Create(InfinityBits)), Vector256.Create(TLayout.CanonicalNaN), code);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Decode(uint code)
    {
        var magnitude = (int)(code & 0x7F);
        var sign = (code & 0x80) << 24;
        if (magnitude == TLayout.InfinityCode) return sign | InfinityBits;
        if (magnitude > TLayout.MaxFiniteCode) return unchecked((uint)NaNBits);
        var bits = magnitude < (1 << TLayout.MantissaBits)
            ? BitConverter.SingleToUInt32Bits(magnitude * MinSubnormal) // M · 2^(1-bias-m), exact
            : (uint)((magnitude << Shift) + ((127 - TLayout.Bias) << 23));
        return bits | sign;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Decode(Vector256<int> code)
    {
        // The 7 magnitude bits placed at the top of a float read as 2^(E-127)·(1 + M/2^m) for E > 0 and as
        // the float32 subnormal 2^-126·M/2^m for E = 0; one exact multiply by 2^(127-bias) turns both into
        // the FP8 value. Specials are patched afterwards.
        var magnitude = code & Vector256.Create(0x7F);
        var value = Vector256.ShiftLeft(magnitude, Shift).AsSingle() * Vector256.Create(RebiasFactor);
        var sign = Vector256.ShiftLeft(code & Vector256.Create(0x80), 24);
        var bits = value.AsInt32() | sign;
        bits = Vector256.ConditionalSelect(Vector256.GreaterThan(magnitude, Vector256.Create(TLayout.MaxFiniteCode)), Vector256.Create(NaNBits), bits);
        return Vector256.ConditionalSelect(Vector256.Equals(magnitude, Vector256.Create(TLayout.InfinityCode)), sign | Vector256.Create(InfinityBits), bits);
    }
}
