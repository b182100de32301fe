namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Reference FP8 codec, one value at a time, written from the OCP formulas in double arithmetic so
/// that it is easy to check by eye; the vectorised <see cref="Fp8Codec"/> is tested against it.
/// </summary>
public static class Fp8ScalarCodec
{
    /// <summary>Encodes <paramref name="value"/> with round-to-nearest-even.</summary>
    /// <remarks>
    /// Overflow is decided after rounding, as RNE prescribes: for E4M3 the halfway point 464 between
    /// 448 (mantissa 110, even) and the missing 480 rounds down to 448, so only |x| &gt; 464 overflows;
    /// for E5M2 the halfway point 61440 rounds up to 2^16 (even), so |x| ≥ 61440 overflows.
    /// </remarks>
    public static byte Encode(float value, Fp8Format format, Fp8Overflow overflow = Fp8Overflow.Saturate)
    {
        if (float.IsNaN(value)) return format.CanonicalNaN;
        var sign = float.IsNegative(value) ? 0x80 : 0;
        double magnitude = Math.Abs(value);
        if (double.IsInfinity(magnitude)) return (byte)(sign | Overflowed(format, overflow));

        // The spacing of representable values is fixed inside a binade and constant across the
        // subnormal range, so rounding is "divide by the spacing, round to an even integer".
        var exponent = magnitude == 0 ? format.MinNormalExponent : Math.Max(Math.ILogB(magnitude), format.MinNormalExponent);
        var spacing = Math.ScaleB(1.0, exponent - format.MantissaBits);
        var rounded = Math.Round(magnitude / spacing, MidpointRounding.ToEven) * spacing;
        if (rounded > format.MaxFinite) return (byte)(sign | Overflowed(format, overflow));
        return (byte)(sign | MagnitudeCode(rounded, format));
    }

    /// <summary>Decodes a code to its exact value (NaN codes give <see cref="float.NaN"/>).</summary>
    public static float Decode(byte code, Fp8Format format)
    {
        if (format.IsNaN(code)) return float.NaN;
        var negative = (code & 0x80) != 0;
        var exponentField = (code & 0x7F) >> format.MantissaBits;
        var mantissa = code & ((1 << format.MantissaBits) - 1);
        if (format.HasInfinity && exponentField == (1 << format.ExponentBits) - 1)
            return negative ? float.NegativeInfinity : float.PositiveInfinity;
        var magnitude = exponentField == 0
            ? Math.ScaleB(mantissa, format.MinNormalExponent - format.MantissaBits)
            : Math.ScaleB((1 << format.MantissaBits) + mantissa, exponentField - format.Bias - format.MantissaBits);
        return (float)(negative ? -magnitude : magnitude);
    }

    private static int Overflowed(Fp8Format format, Fp8Overflow overflow) =>
        overflow == Fp8Overflow.Saturate ? format.MaxFiniteCode : format.PositiveInfinityOrNaN;

    // `magnitude` is exactly representable here, so the fields can be read off it.
    private static int MagnitudeCode(double magnitude, Fp8Format format)
    {
        if (magnitude < format.MinNormal)
            return (int)(magnitude / format.MinSubnormal);
        var exponent = Math.ILogB(magnitude);
        var mantissa = (int)((Math.ScaleB(magnitude, -exponent) - 1.0) * (1 << format.MantissaBits));
        return ((exponent + format.Bias) << format.MantissaBits) | mantissa;
    }
}
