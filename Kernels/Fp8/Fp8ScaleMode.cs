namespace Orchestrator.Kernels.Fp8;

/// <summary>How a tile's scale is derived from its max-abs.</summary>
public enum Fp8ScaleMode
{
    /// <summary><c>scale = maxAbs / max</c>: the tile's largest element lands exactly on ±max (DeepSeek-V3).</summary>
    Exact,

    /// <summary>
    /// <c>scale = 2^k</c>, the smallest power of two with <c>maxAbs / scale ≤ max</c>: scaling is then
    /// exact in every float format (no rounding from the division or the dequantising product).
    /// </summary>
    PowerOfTwo,
}
