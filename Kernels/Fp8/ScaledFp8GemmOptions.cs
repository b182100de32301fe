namespace Orchestrator.Kernels.Fp8;

/// <summary>Numerics and threading of <see cref="ScaledFp8Gemm"/>.</summary>
public sealed record ScaledFp8GemmOptions
{
    /// <summary>DeepSeek-V3's setting: ~14-bit accumulator, promoted to FP32 every 128 elements.</summary>
    public static ScaledFp8GemmOptions Default { get; } = new();

    /// <summary>Accumulation scheme.</summary>
    public Fp8Accumulation Accumulation { get; init; } = Fp8Accumulation.LimitedWithPromotion;

    /// <summary>
    /// Explicit mantissa bits kept by the limited accumulator (FP32 keeps 23). The default 14 follows
    /// the ~14 bits DeepSeek-V3 measured on H800 tensor cores. Must be 1..23.
    /// </summary>
    public int AccumulatorMantissaBits { get; init; } = 14;

    /// <summary>Rounding of the limited accumulator after each addition.</summary>
    public AccumulatorRounding Rounding { get; init; } = AccumulatorRounding.TowardZero;

    /// <summary>
    /// N_C: products per promotion to FP32 (default 128). Must divide the K-block size (128) so that a
    /// promoted partial sum never mixes two tiles' scales.
    /// </summary>
    public int PromotionInterval { get; init; } = 128;

    /// <summary>Threads for the row loop; -1 lets the pool decide. Results do not depend on it.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;
}
