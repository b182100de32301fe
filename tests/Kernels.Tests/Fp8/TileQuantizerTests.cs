using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

public class TileQuantizerTests
{
    [Fact]
    public void Tiles_HaveOneScalePerRowPer128Columns_EqualToMaxAbsOver448()
    {
        const int rows = 3, columns = 384;
        var values = TestMatrices.Random(rows, columns, seed: 1);
        var q = TileQuantizer.Quantize(values, rows, columns);
        Assert.Equal((3, 3), (q.ScaleRows, q.ScaleColumns));
        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < 3; b++)
            {
                var maxAbs = values.AsSpan((r * columns) + (b * 128), 128).ToArray().Max(MathF.Abs);
                Assert.Equal(maxAbs / 448f, q.Scales[(r * 3) + b]);
                // The tile's largest element lands on ±448.
                var argMax = values.AsSpan((r * columns) + (b * 128), 128).ToArray().Select(MathF.Abs).ToList().IndexOf(maxAbs);
                Assert.Equal(0x7E, q.Codes[(r * columns) + (b * 128) + argMax] & 0x7F);
            }
        }
    }

    [Fact]
    public void EdgeTile_CoversOnlyTheRemainderColumns_AndTakesItsScaleFromThem()
    {
        const int rows = 2, columns = 300; // tiles of 128, 128 and 44 columns
        var values = new float[rows * columns];
        for (var i = 0; i < values.Length; i++) values[i] = (i % columns) < 256 ? 100f : 0.5f;
        var q = TileQuantizer.Quantize(values, rows, columns);
        Assert.Equal(3, q.ScaleColumns);
        Assert.Equal(100f / 448f, q.Scales[0]);
        Assert.Equal(0.5f / 448f, q.Scales[2]);
        Assert.Equal(values, q.Dequantize()); // every element is its tile's max: exact round trip
    }

    [Fact]
    public void AllZeroTile_GetsScaleOne_AndDequantisesToZero()
    {
        var q = TileQuantizer.Quantize(new float[256], 1, 256);
        Assert.Equal([1f, 1f], q.Scales);
        Assert.All(q.Dequantize(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void NaNInATile_ThrowsNamingTheRowAndColumnBlock()
    {
        var values = TestMatrices.Random(4, 256, seed: 2);
        values[(3 * 256) + 130] = float.NaN;
        var error = Assert.Throws<NonFiniteInputException>(() => TileQuantizer.Quantize(values, 4, 256));
        Assert.Equal((3, 130, 3, 1), (error.Row, error.Column, error.BlockRow, error.BlockColumn));
        Assert.Contains("(row 3, column-block 1)", error.Message);
        Assert.Contains("NaN", error.Message);
    }

    [Property(MaxTest = 100)]
    public Property QuantiseDequantise_ErrorIsAtMostHalfAnE4M3StepOfTheScaledValue() =>
        Prop.ForAll(
            (from rows in Gen.Choose(1, 3)
             from columns in Gen.Choose(1, 300)
             from seed in Gen.Choose(0, 1000)
             from mode in Gen.Elements(Fp8ScaleMode.Exact, Fp8ScaleMode.PowerOfTwo)
             select (rows, columns, seed, mode)).ToArbitrary(),
            input =>
            {
                var (rows, columns, seed, mode) = input;
                var values = TestMatrices.Random(rows, columns, seed, mean: seed % 3 == 0 ? 1 : 0);
                var q = TileQuantizer.Quantize(values, rows, columns, mode);
                var restored = q.Dequantize();
                for (var r = 0; r < rows; r++)
                {
                    for (var c = 0; c < columns; c++)
                    {
                        var x = values[(r * columns) + c];
                        var scale = q.ScaleAt(r, c);
                        if (Math.Abs(x) / scale > 448.0 * (1 + 1e-6)) return false; // scale bounds the tile
                        // RNE error ≤ half the E4M3 spacing at |x|/scale (2^(e-3), e ≥ -6), in x's units,
                        // plus float rounding of the division and the dequantising product.
                        var scaled = Math.Abs(x) / scale;
                        var exponent = scaled == 0 ? -6 : Math.Max(Math.ILogB(scaled), -6);
                        var bound = (Math.ScaleB(1.0, exponent - 4) * scale) + (Math.Abs(x) * 1e-6);
                        if (Math.Abs(x - restored[(r * columns) + c]) > bound) return false;
                    }
                }

                return true;
            });
}
