namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// A NaN or infinity reached an FP8 quantiser. It is refused rather than encoded because a single
/// non-finite element would poison its tile's scale (and hence every value sharing it).
/// </summary>
public sealed class NonFiniteInputException : ArgumentException
{
    /// <summary>Creates the exception for the first non-finite element found (row-major tile order).</summary>
    public NonFiniteInputException(float value, int row, int column, int blockRow, int blockColumn, int blockRows, int blockColumns)
        : base(Describe(value, row, column, blockRow, blockColumn, blockRows, blockColumns))
    {
        Value = value;
        Row = row;
        Column = column;
        BlockRow = blockRow;
        BlockColumn = blockColumn;
    }

    /// <summary>The offending value (NaN or ±infinity).</summary>
    public float Value { get; }

    /// <summary>Row of the element in the input matrix.</summary>
    public int Row { get; }

    /// <summary>Column of the element in the input matrix.</summary>
    public int Column { get; }

    /// <summary>Tile row: the row itself for 1×128 tiles, the row-block for 128×128 blocks.</summary>
    public int BlockRow { get; }

    /// <summary>Column-block of the tile (column / 128).</summary>
    public int BlockColumn { get; }

    private static string Describe(float value, int row, int column, int blockRow, int blockColumn, int blockRows, int blockColumns)
    {
        var rowPart = blockRows == 1 ? $"row {blockRow}" : $"row-block {blockRow}";
        return $"Non-finite input {value} at (row {row}, column {column}) in {blockRows}x{blockColumns} tile " +
               $"({rowPart}, column-block {blockColumn}); FP8 quantisation refuses NaN/Inf instead of encoding it.";
    }
}
