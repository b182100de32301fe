namespace Orchestrator.Kernels.Fp8;

/// <summary>What an encoder does with a finite value whose rounded magnitude exceeds the format's range.</summary>
public enum Fp8Overflow
{
    /// <summary>
    /// Clamp to ±max finite (448 / 57344). Infinite inputs also become ±max: training wants a large,
    /// usable value rather than a poison one. NaN stays NaN.
    /// </summary>
    Saturate,

    /// <summary>
    /// IEEE-style: overflow gives ±infinity in E5M2 and NaN in E4M3 (it has no infinity; the
    /// "NaN on overflow" behaviour of libtorch's <c>float8_e4m3fn</c> cast).
    /// </summary>
    NonSaturating,
}
