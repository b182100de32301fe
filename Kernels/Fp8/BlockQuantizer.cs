namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Weight quantisation of DeepSeek-V3: one scale per 128×128 block, computed online as
/// max-abs / 448, then <c>q = E4M3(w / scale)</c>.
/// </summary>
public static class BlockQuantizer
{
    /// <summary>Rows and columns per block.</summary>
    public const int BlockSize = 128;

    /// <summary>
    /// Quantises a row-major <paramref name="rows"/> × <paramref name="columns"/> matrix (for the GEMM:
    /// N × K). Edge blocks cover the remainder rows/columns only (see <see cref="ScaledFp8Matrix"/>).
    /// Throws <see cref="NonFiniteInputException"/> naming the block on NaN/Inf.
    /// </summary>
    public static ScaledFp8Matrix Quantize(ReadOnlySpan<float> values, int rows, int columns,
        Fp8ScaleMode mode = Fp8ScaleMode.Exact, Fp8Format? format = null) =>
        BlockScaling.Quantize(values, rows, columns, BlockSize, BlockSize, format ?? Fp8Format.E4M3, mode);
}
