using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// The tile/block quantisers for TorchSharp tensors: a 2-D float32 tensor in, a <see cref="Fp8Tensor"/>
/// (uint8 codes of the same shape + float32 scales) out, and back. The CPU codec is the reference; it
/// saturates where libtorch's <c>float8_e4m3fn</c> cast would give NaN.
/// </summary>
public static class Fp8TensorQuantizer
{
    /// <summary>libtorch's <c>float8_e4m3fn</c>, which TorchSharp's <see cref="ScalarType"/> does not name.</summary>
    public const ScalarType Float8E4M3 = (ScalarType)24;

    /// <summary>libtorch's <c>float8_e5m2</c>.</summary>
    public const ScalarType Float8E5M2 = (ScalarType)23;

    /// <summary>Activation quantisation: 1×128 tiles; scales are [rows, ceil(cols/128)].</summary>
    public static Fp8Tensor QuantizeActivations(Tensor values, Fp8ScaleMode mode = Fp8ScaleMode.Exact) =>
        Quantize(values, (data, rows, columns) => TileQuantizer.Quantize(data, rows, columns, mode));

    /// <summary>Weight quantisation: 128×128 blocks; scales are [ceil(rows/128), ceil(cols/128)].</summary>
    public static Fp8Tensor QuantizeWeights(Tensor values, Fp8ScaleMode mode = Fp8ScaleMode.Exact) =>
        Quantize(values, (data, rows, columns) => BlockQuantizer.Quantize(data, rows, columns, mode));

    /// <summary>Dequantises back to a float32 CPU tensor of the codes' shape.</summary>
    public static Tensor Dequantize(Fp8Tensor quantized)
    {
        var matrix = ToMatrix(quantized);
        return tensor(matrix.Dequantize(), [matrix.Rows, matrix.Columns], ScalarType.Float32, device: CPU);
    }

    /// <summary>
    /// The codes as a libtorch <c>float8_e4m3fn</c> tensor (same bytes, no rounding), for torch ops that
    /// take FP8 inputs. TorchSharp has no dtype-reinterpreting view, so the bytes are copied.
    /// </summary>
    public static Tensor ToTorchFloat8(Fp8Tensor quantized)
    {
        var float8 = empty(quantized.Codes.shape, Float8E4M3, device: CPU);
        float8.bytes = quantized.Codes.cpu().contiguous().data<byte>().ToArray();
        return float8;
    }

    /// <summary>The same content as the span-based <see cref="ScaledFp8Matrix"/>, for the GEMM.</summary>
    public static ScaledFp8Matrix ToMatrix(Fp8Tensor quantized)
    {
        var codes = quantized.Codes;
        if (codes.dtype != ScalarType.Byte || codes.dim() != 2)
            throw new ArgumentException($"Codes must be a 2-D uint8 tensor; got {codes.dtype} with {codes.dim()} dimensions.", nameof(quantized));
        var rows = (int)codes.shape[0];
        var columns = (int)codes.shape[1];
        var codeArray = codes.cpu().contiguous().data<byte>().ToArray();
        var scaleArray = quantized.Scales.cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        return new ScaledFp8Matrix(rows, columns, quantized.BlockRows, quantized.BlockColumns, Fp8Format.E4M3, codeArray, scaleArray);
    }

    private static Fp8Tensor Quantize(Tensor values, Func<float[], int, int, ScaledFp8Matrix> quantize)
    {
        if (values.dim() != 2)
            throw new ArgumentException($"Expected a 2-D tensor; got {values.dim()} dimensions (flatten leading dimensions first).", nameof(values));
        var rows = (int)values.shape[0];
        var columns = (int)values.shape[1];
        var data = values.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var matrix = quantize(data, rows, columns);
        var codes = tensor(matrix.Codes, [rows, columns], ScalarType.Byte, device: CPU);
        var scales = tensor(matrix.Scales, [matrix.ScaleRows, matrix.ScaleColumns], ScalarType.Float32, device: CPU);
        return new Fp8Tensor(codes, scales, matrix.BlockRows, matrix.BlockColumns);
    }
}
