namespace Orchestrator.Kernels.Fp8;

/// <summary>How <see cref="ScaledFp8Gemm"/> accumulates the FP8 products along K.</summary>
public enum Fp8Accumulation
{
    /// <summary>
    /// DeepSeek-V3's recipe: products summed in the limited-precision (tensor-core) accumulator for
    /// <see cref="ScaledFp8GemmOptions.PromotionInterval"/> elements, then that partial sum is multiplied
    /// by the two tiles' scales and added to an FP32 accumulator.
    /// </summary>
    LimitedWithPromotion,

    /// <summary>
    /// Promotion off: one limited-precision accumulator runs across the whole of K and the scales are
    /// applied at the end. Hardware without promotion only supports scales that are uniform along K;
    /// to still accept 1×128 / 128×128 scales, each K-block's product enters the sum multiplied by its
    /// scale pair relative to K-block 0's (exactly 1 when the scales are uniform along K) and K-block 0's
    /// scale pair multiplies the final sum.
    /// </summary>
    LimitedWithoutPromotion,

    /// <summary>
    /// Plain FP32: products summed in FP32 over each K-block (round-to-nearest-even), scaled and added to
    /// the FP32 accumulator: what a CPU or a CUDA-core kernel computes.
    /// </summary>
    Fp32,
}
