namespace Orchestrator.Kernels.Tests.Fp8;

/// <summary>
/// The OCP OFP8 value formulas, written independently of the production codec: sign, exponent and
/// mantissa fields read off the byte, then (-1)^S · 2^(E-bias) · (1 + M/2^m), or 2^(1-bias) · M/2^m for E = 0.
/// </summary>
internal static class SpecFormula
{
    public static double E4M3(byte code) => Value(code, exponentBits: 4, mantissaBits: 3, ieeeSpecials: false);

    public static double E5M2(byte code) => Value(code, exponentBits: 5, mantissaBits: 2, ieeeSpecials: true);

    private static double Value(byte code, int exponentBits, int mantissaBits, bool ieeeSpecials)
    {
        var sign = (code >> 7) == 1 ? -1.0 : 1.0;
        var exponent = (code >> mantissaBits) & ((1 << exponentBits) - 1);
        var mantissa = code & ((1 << mantissaBits) - 1);
        var bias = Math.Pow(2, exponentBits - 1) - 1;
        var allOnesExponent = exponent == (1 << exponentBits) - 1;
        if (ieeeSpecials && allOnesExponent) return mantissa == 0 ? sign * double.PositiveInfinity : double.NaN;
        // E4M3 ("fn"): only S.1111.111 is NaN; the rest of the top binade is finite.
        if (!ieeeSpecials && allOnesExponent && mantissa == (1 << mantissaBits) - 1) return double.NaN;
        var fraction = mantissa / Math.Pow(2, mantissaBits);
        return exponent == 0
            ? sign * Math.Pow(2, 1 - bias) * fraction
            : sign * Math.Pow(2, exponent - bias) * (1 + fraction);
    }
}
