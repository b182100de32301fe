namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// A row-major <c>Rows × Columns</c> matrix of FP8 codes with one float32 scale per
/// <c>BlockRows × BlockColumns</c> tile (1×128 for activations, 128×128 for weights); element
/// (r, c) stands for <c>decode(Codes[r·Columns + c]) · Scales[(r / BlockRows)·ScaleColumns + c / BlockColumns]</c>.
/// </summary>
/// <remarks>
/// When a dimension is not a multiple of the tile size the last tile is smaller: it covers only the
/// remaining elements and its scale comes from those alone. Nothing is padded, so no padding value
/// can leak into a scale, and the codes keep the input's shape.
/// </remarks>
public sealed class ScaledFp8Matrix
{
    /// <summary>Wraps existing codes and scales; lengths are checked against the shape.</summary>
    public ScaledFp8Matrix(int rows, int columns, int blockRows, int blockColumns, Fp8Format format, byte[] codes, float[] scales)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockRows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockColumns);
        Rows = rows;
        Columns = columns;
        BlockRows = blockRows;
        BlockColumns = blockColumns;
        Format = format;
        ScaleRows = (rows + blockRows - 1) / blockRows;
        ScaleColumns = (columns + blockColumns - 1) / blockColumns;
        if (codes.Length != rows * columns)
            throw new ArgumentException($"Expected {rows * columns} codes for {rows}x{columns}, got {codes.Length}.", nameof(codes));
        if (scales.Length != ScaleRows * ScaleColumns)
            throw new ArgumentException($"Expected {ScaleRows * ScaleColumns} scales ({ScaleRows}x{ScaleColumns}), got {scales.Length}.", nameof(scales));
        Codes = codes;
        Scales = scales;
    }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns (the GEMM's K for both operands).</summary>
    public int Columns { get; }

    /// <summary>Rows per tile: 1 (activation tiles) or 128 (weight blocks).</summary>
    public int BlockRows { get; }

    /// <summary>Columns per tile: 128 in DeepSeek-V3's recipe.</summary>
    public int BlockColumns { get; }

    /// <summary>The FP8 format of <see cref="Codes"/>.</summary>
    public Fp8Format Format { get; }

    /// <summary>Rows of the scale grid: ceil(Rows / BlockRows).</summary>
    public int ScaleRows { get; }

    /// <summary>Columns of the scale grid: ceil(Columns / BlockColumns).</summary>
    public int ScaleColumns { get; }

    /// <summary>Row-major FP8 codes, same shape as the input.</summary>
    public byte[] Codes { get; }

    /// <summary>Row-major <c>ScaleRows × ScaleColumns</c> scales.</summary>
    public float[] Scales { get; }

    /// <summary>The scale of the tile holding element (row, column).</summary>
    public float ScaleAt(int row, int column) => Scales[(row / BlockRows * ScaleColumns) + (column / BlockColumns)];

    /// <summary>Writes <c>decode(code) · scale</c> for every element into <paramref name="destination"/>.</summary>
    public void Dequantize(Span<float> destination)
    {
        if (destination.Length < Codes.Length)
            throw new ArgumentException($"Destination holds {destination.Length} elements; {Rows}x{Columns} needed.", nameof(destination));
        for (var row = 0; row < Rows; row++)
        {
            for (var block = 0; block < ScaleColumns; block++)
            {
                var start = block * BlockColumns;
                var width = Math.Min(BlockColumns, Columns - start);
                var offset = (row * Columns) + start;
                Fp8Codec.Decode(Codes.AsSpan(offset, width), destination.Slice(offset, width), Format, ScaleAt(row, start));
            }
        }
    }

    /// <summary>Dequantises into a new row-major array.</summary>
    public float[] Dequantize()
    {
        var result = new float[Codes.Length];
        Dequantize(result);
        return result;
    }
}
