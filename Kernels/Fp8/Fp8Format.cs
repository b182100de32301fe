namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// One of the two OCP 8-bit floating-point formats (OCP 8-bit Floating Point Specification, OFP8).
/// A code is <c>S.EEEE.MMM</c> (E4M3) or <c>S.EEEEE.MM</c> (E5M2); the value of a normal code is
/// <c>(-1)^S · 2^(E-bias) · (1 + M/2^m)</c> and of a subnormal code (E = 0) <c>(-1)^S · 2^(1-bias) · M/2^m</c>.
/// </summary>
public sealed class Fp8Format
{
    /// <summary>
    /// E4M3 (bias 7): no infinities; only <c>S.1111.111</c> is NaN, which frees <c>S.1111.000–110</c>
    /// for finite values, so the largest finite value is 448. Used for every GEMM input in DeepSeek-V3.
    /// </summary>
    public static readonly Fp8Format E4M3 = new("E4M3", exponentBits: 4, mantissaBits: 3, hasInfinity: false,
        maxFiniteCode: 0x7E, canonicalNaN: 0x7F);

    /// <summary>
    /// E5M2 (bias 15): IEEE-like, <c>S.11111.00</c> is infinity and <c>S.11111.{01,10,11}</c> are NaN;
    /// the largest finite value is 57344.
    /// </summary>
    public static readonly Fp8Format E5M2 = new("E5M2", exponentBits: 5, mantissaBits: 2, hasInfinity: true,
        maxFiniteCode: 0x7B, canonicalNaN: 0x7E);

    private Fp8Format(string name, int exponentBits, int mantissaBits, bool hasInfinity, byte maxFiniteCode, byte canonicalNaN)
    {
        Name = name;
        ExponentBits = exponentBits;
        MantissaBits = mantissaBits;
        Bias = (1 << (exponentBits - 1)) - 1;
        HasInfinity = hasInfinity;
        MaxFiniteCode = maxFiniteCode;
        CanonicalNaN = canonicalNaN;
        MinNormalExponent = 1 - Bias;
        MinSubnormal = MathF.ScaleB(1f, MinNormalExponent - mantissaBits);
        MinNormal = MathF.ScaleB(1f, MinNormalExponent);
        var maxExponentField = maxFiniteCode >> mantissaBits;
        var maxMantissa = maxFiniteCode & ((1 << mantissaBits) - 1);
        MaxFinite = MathF.ScaleB(1f + (maxMantissa / (float)(1 << mantissaBits)), maxExponentField - Bias);
    }

    /// <summary>"E4M3" or "E5M2".</summary>
    public string Name { get; }

    /// <summary>Width of the exponent field.</summary>
    public int ExponentBits { get; }

    /// <summary>Width of the stored (explicit) mantissa field.</summary>
    public int MantissaBits { get; }

    /// <summary>Exponent bias: 7 for E4M3, 15 for E5M2.</summary>
    public int Bias { get; }

    /// <summary>Unbiased exponent of the smallest normal value (also the exponent of the subnormal range).</summary>
    public int MinNormalExponent { get; }

    /// <summary>True for E5M2, whose <c>S.11111.00</c> codes are ±infinity.</summary>
    public bool HasInfinity { get; }

    /// <summary>Positive code of the largest finite value (0x7E for E4M3, 0x7B for E5M2).</summary>
    public byte MaxFiniteCode { get; }

    /// <summary>The NaN code the encoders produce for any NaN input (positive sign).</summary>
    public byte CanonicalNaN { get; }

    /// <summary>Largest finite value: 448 (E4M3) or 57344 (E5M2).</summary>
    public float MaxFinite { get; }

    /// <summary>Smallest positive normal value: 2^-6 (E4M3) or 2^-14 (E5M2).</summary>
    public float MinNormal { get; }

    /// <summary>Smallest positive subnormal value: 2^-9 (E4M3) or 2^-16 (E5M2).</summary>
    public float MinSubnormal { get; }

    /// <summary>Positive infinity code (0x7C) for E5M2; the canonical NaN for E4M3, which has no infinity.</summary>
    public byte PositiveInfinityOrNaN => HasInfinity ? (byte)0x7C : CanonicalNaN;

    /// <summary>True when the code (either sign) is a NaN.</summary>
    public bool IsNaN(byte code)
    {
        var magnitude = code & 0x7F;
        return HasInfinity ? magnitude > 0x7C : magnitude == 0x7F;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
