using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Orchestrator.Kernels.Fp8;

/// <summary>Shared quantisation loop behind <see cref="TileQuantizer"/> and <see cref="BlockQuantizer"/>.</summary>
internal static class BlockScaling
{
    public static ScaledFp8Matrix Quantize(ReadOnlySpan<float> values, int rows, int columns, int blockRows, int blockColumns,
        Fp8Format format, Fp8ScaleMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (values.Length != rows * columns)
            throw new ArgumentException($"Expected {rows * columns} values for {rows}x{columns}, got {values.Length}.", nameof(values));

        var scaleRows = (rows + blockRows - 1) / blockRows;
        var scaleColumns = (columns + blockColumns - 1) / blockColumns;
        var codes = new byte[values.Length];
        var scales = new float[scaleRows * scaleColumns];
        for (var blockRow = 0; blockRow < scaleRows; blockRow++)
        {
            var firstRow = blockRow * blockRows;
            var lastRow = Math.Min(firstRow + blockRows, rows);
            for (var blockColumn = 0; blockColumn < scaleColumns; blockColumn++)
            {
                var start = blockColumn * blockColumns;
                var width = Math.Min(blockColumns, columns - start);
                // Positive floats order like their bits, so one unsigned max finds both the max-abs and
                // any NaN/Inf (bits ≥ 0x7F800000) in a single pass.
                uint maxBits = 0;
                for (var row = firstRow; row < lastRow; row++)
                    maxBits = Math.Max(maxBits, MaxAbsBits(values.Slice((row * columns) + start, width)));
                if (maxBits >= 0x7F80_0000)
                    throw NonFinite(values, columns, firstRow, lastRow, start, width, blockRow, blockColumn, blockRows, blockColumns);

                var scale = Fp8Scale.ForMaxAbs(BitConverter.UInt32BitsToSingle(maxBits), format, mode);
                scales[(blockRow * scaleColumns) + blockColumn] = scale;
                for (var row = firstRow; row < lastRow; row++)
                {
                    var offset = (row * columns) + start;
                    Fp8Codec.Encode(values.Slice(offset, width), codes.AsSpan(offset, width), format, Fp8Overflow.Saturate, scale);
                }
            }
        }

        return new ScaledFp8Matrix(rows, columns, blockRows, blockColumns, format, codes, scales);
    }

    private static uint MaxAbsBits(ReadOnlySpan<float> values)
    {
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var i = 0;
        uint max = 0;
        if (Vector256.IsHardwareAccelerated && bits.Length >= 8)
        {
            var mask = Vector256.Create(0x7FFF_FFFFu);
            var acc = Vector256<uint>.Zero;
            for (; i <= bits.Length - 8; i += 8)
                acc = Vector256.Max(acc, Vector256.Create(bits.Slice(i, 8)) & mask);
            for (var lane = 0; lane < 8; lane++) max = Math.Max(max, acc[lane]);
        }

        for (; i < bits.Length; i++) max = Math.Max(max, bits[i] & 0x7FFF_FFFF);
        return max;
    }

    private static NonFiniteInputException NonFinite(ReadOnlySpan<float> values, int columns, int firstRow, int lastRow,
        int start, int width, int blockRow, int blockColumn, int blockRows, int blockColumns)
    {
        for (var row = firstRow; row < lastRow; row++)
        {
            for (var column = start; column < start + width; column++)
            {
                var value = values[(row * columns) + column];
                if (!float.IsFinite(value))
                    return new NonFiniteInputException(value, row, column, blockRow, blockColumn, blockRows, blockColumns);
            }
        }

        throw new InvalidOperationException("Unreachable: max-abs bits reported a non-finite value that the scan did not find.");
    }
}
