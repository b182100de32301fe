namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// A format's bit layout as static constants, so that the generic kernels in <see cref="Fp8Lanes{TLayout}"/>
/// are specialised per format by the JIT with every mask, shift and bias folded into the code.
/// </summary>
internal interface IFp8Layout
{
    static abstract int MantissaBits { get; }

    static abstract int Bias { get; }

    static abstract int MaxFiniteCode { get; }

    static abstract int CanonicalNaN { get; }

    /// <summary>Positive infinity code, or 0x100 (matches no 7-bit magnitude) when there is none.</summary>
    static abstract int InfinityCode { get; }
}

/// <summary>E4M3: bias 7, max 0x7E (448), NaN 0x7F, no infinity.</summary>
internal readonly struct E4M3Layout : IFp8Layout
{
    public static int MantissaBits => 3;

    public static int Bias => 7;

    public static int MaxFiniteCode => 0x7E;

    public static int CanonicalNaN => 0x7F;

    public static int InfinityCode => 0x100;
}

/// <summary>E5M2: bias 15, max 0x7B (57344), infinity 0x7C, canonical NaN 0x7E.</summary>
internal readonly struct E5M2Layout : IFp8Layout
{
    public static int MantissaBits => 2;

    public static int Bias => 15;

    public static int MaxFiniteCode => 0x7B;

    public static int CanonicalNaN => 0x7E;

    public static int InfinityCode => 0x7C;
}
