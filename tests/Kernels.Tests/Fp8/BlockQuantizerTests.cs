using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Kernels.Tests.Fp8;

public class BlockQuantizerTests
{
    [Fact]
    public void Blocks_Are128x128_WithEdgeBlocksCoveringTheRemainder()
    {
        const int rows = 200, columns = 130; // blocks: rows 0–127 | 128–199, columns 0–127 | 128–129
        var values = new float[rows * columns];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++)
                values[(r * columns) + c] = ((r >= 128 ? 2 : 0) + (c >= 128 ? 1 : 0) + 1) * ((r + c) % 2 == 0 ? 1f : -1f);
        var q = BlockQuantizer.Quantize(values, rows, columns);
        Assert.Equal((2, 2), (q.ScaleRows, q.ScaleColumns));
        Assert.Equal([1f / 448f, 2f / 448f, 3f / 448f, 4f / 448f], q.Scales);
        Assert.Equal(4f / 448f, q.ScaleAt(199, 129));
        Assert.Equal(values, q.Dequantize());
    }

    [Fact]
    public void InfinityInABlock_ThrowsNamingTheRowBlockAndColumnBlock()
    {
        var values = TestMatrices.Random(256, 256, seed: 3);
        values[(200 * 256) + 5] = float.NegativeInfinity;
        var error = Assert.Throws<NonFiniteInputException>(() => BlockQuantizer.Quantize(values, 256, 256));
        Assert.Equal((200, 5, 1, 0), (error.Row, error.Column, error.BlockRow, error.BlockColumn));
        Assert.Contains("128x128 tile (row-block 1, column-block 0)", error.Message);
    }

    [Fact]
    public void PowerOfTwoScales_AreSmallestPowersOfTwoThatKeepBlocksWithinMax()
    {
        var values = TestMatrices.Random(256, 384, seed: 4);
        var q = BlockQuantizer.Quantize(values, 256, 384, Fp8ScaleMode.PowerOfTwo);
        for (var i = 0; i < q.Scales.Length; i++)
        {
            var scale = q.Scales[i];
            Assert.Equal(0, BitConverter.SingleToInt32Bits(scale) & 0x7F_FFFF); // a power of two
            var blockRow = i / q.ScaleColumns;
            var blockColumn = i % q.ScaleColumns;
            var maxAbs = 0f;
            for (var r = blockRow * 128; r < (blockRow + 1) * 128; r++)
                for (var c = blockColumn * 128; c < (blockColumn + 1) * 128; c++)
                    maxAbs = MathF.Max(maxAbs, MathF.Abs(values[(r * 384) + c]));
            Assert.True(maxAbs / scale <= 448f);
            Assert.True(maxAbs / (scale / 2) > 448f, "half the scale would overflow, so it is the smallest");
        }
    }

    [Theory]
    [InlineData(448f, 1f)]
    [InlineData(449f, 2f)]
    [InlineData(1f, 0.00390625f)] // 1/448 → 2^-8 (2^-9 would put 1 at 512)
    [InlineData(0f, 1f)]
    public void Fp8Scale_PowerOfTwo_MatchesHandComputedValues(float maxAbs, float expected) =>
        Assert.Equal(expected, Fp8Scale.ForMaxAbs(maxAbs, Fp8Format.E4M3, Fp8ScaleMode.PowerOfTwo));
}
