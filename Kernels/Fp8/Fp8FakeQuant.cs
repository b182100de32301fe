using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Quantise-then-dequantise of a 2-D float32 tensor: the values a GEMM really sees when its input
/// is stored as block-scaled E4M3. Written in libtorch ops (it runs on the tensor's device, with
/// no managed copy), with the CPU codec's exact semantics: scale = max(maxabs / 448, ε) (1 for an
/// all-zero tile), q = RNE(x / scale) saturated to ±448, value = q · scale. The tests hold it
/// bit-equal to <see cref="Fp8TensorQuantizer"/>.
/// </summary>
public static class Fp8FakeQuant
{
    private const double E4M3Max = 448.0;

    /// <summary>1×128 tiles along the last dimension (activations and activation gradients).</summary>
    public static Tensor Tiles(Tensor matrix) => Quantize(matrix, 1, TileQuantizer.TileColumns);

    /// <summary>128×128 blocks (weights).</summary>
    public static Tensor Blocks(Tensor matrix) => Quantize(matrix, BlockQuantizer.BlockSize, BlockQuantizer.BlockSize);

    private static Tensor Quantize(Tensor matrix, int blockRows, int blockColumns)
    {
        if (matrix.dim() != 2) throw new ArgumentException($"expected a 2-D tensor, got {matrix.dim()} dimensions", nameof(matrix));
        using var scope = NewDisposeScope();
        ThrowIfNonFinite(matrix, blockRows, blockColumns);
        long rows = matrix.shape[0], columns = matrix.shape[1];
        var paddedRows = Round(rows, blockRows);
        var paddedColumns = Round(columns, blockColumns);
        // Zero padding leaves every max-abs unchanged; the padded part is cut off at the end.
        var padded = paddedRows == rows && paddedColumns == columns
            ? matrix
            : nn.functional.pad(matrix, [0, paddedColumns - columns, 0, paddedRows - rows]);
        var blocks = padded.view(paddedRows / blockRows, blockRows, paddedColumns / blockColumns, blockColumns);
        var maxAbs = blocks.abs().amax([1, 3], keepdim: true);
        var scale = maxAbs.div(Scalars.Of(E4M3Max)).clamp_min(Scalars.Of(float.Epsilon));
        scale = where(maxAbs == 0, ones_like(scale), scale);
        var codes = (blocks / scale).clamp(Scalars.Of(-E4M3Max), Scalars.Of(E4M3Max)).to(Fp8TensorQuantizer.Float8E4M3);
        var values = (codes.to(ScalarType.Float32) * scale).view(paddedRows, paddedColumns);
        return values.narrow(0, 0, rows).narrow(1, 0, columns).contiguous().MoveToOuterDisposeScope();
    }

    private static void ThrowIfNonFinite(Tensor matrix, int blockRows, int blockColumns)
    {
        using var finite = matrix.isfinite();
        if (finite.all().item<bool>()) return;
        using var bad = finite.logical_not().nonzero();
        var row = (int)bad[0, 0].item<long>();
        var column = (int)bad[0, 1].item<long>();
        var value = matrix[row, column].item<float>();
        throw new NonFiniteInputException(value, row, column, row / blockRows, column / blockColumns, blockRows, blockColumns);
    }

    private static long Round(long value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
