namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Activation quantisation of DeepSeek-V3: one scale per 1×128 tile (per row, per 128 columns),
/// computed online as max-abs / 448, then <c>q = E4M3(x / scale)</c>.
/// </summary>
public static class TileQuantizer
{
    /// <summary>Columns per tile.</summary>
    public const int TileColumns = 128;

    /// <summary>
    /// Quantises a row-major <paramref name="rows"/> × <paramref name="columns"/> matrix. When
    /// <paramref name="columns"/> is not a multiple of 128 the last tile of each row is narrower
    /// (see <see cref="ScaledFp8Matrix"/>). Throws <see cref="NonFiniteInputException"/> naming the tile
    /// on NaN/Inf.
    /// </summary>
    public static ScaledFp8Matrix Quantize(ReadOnlySpan<float> values, int rows, int columns,
        Fp8ScaleMode mode = Fp8ScaleMode.Exact, Fp8Format? format = null) =>
        BlockScaling.Quantize(values, rows, columns, 1, TileColumns, format ?? Fp8Format.E4M3, mode);
}
