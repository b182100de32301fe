using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Fp8;

public class Fp8TensorQuantizerTests
{
    public Fp8TensorQuantizerTests() => LibTorchRuntime.Initialize();

    [Fact]
    public void ActivationTensor_QuantisesLikeTheSpanQuantizer_AndRoundTrips()
    {
        const int rows = 5, columns = 300;
        var values = TestMatrices.Random(rows, columns, seed: 11);
        using var scope = NewDisposeScope();
        var quantized = Fp8TensorQuantizer.QuantizeActivations(tensor(values, [rows, columns]));
        var expected = TileQuantizer.Quantize(values, rows, columns);

        Assert.Equal(ScalarType.Byte, quantized.Codes.dtype);
        Assert.Equal([rows, columns], quantized.Codes.shape);
        Assert.Equal([rows, 3L], quantized.Scales.shape);
        Assert.Equal(expected.Codes, quantized.Codes.data<byte>().ToArray());
        Assert.Equal(expected.Scales, quantized.Scales.data<float>().ToArray());
        Assert.Equal(expected.Dequantize(), Fp8TensorQuantizer.Dequantize(quantized).data<float>().ToArray());
    }

    [Fact]
    public void WeightTensor_Has128x128BlockScales_AndFeedsTheGemm()
    {
        using var scope = NewDisposeScope();
        var weights = Fp8TensorQuantizer.QuantizeWeights(tensor(TestMatrices.Random(130, 256, seed: 12), [130, 256]));
        Assert.Equal([2L, 2L], weights.Scales.shape);
        var matrix = Fp8TensorQuantizer.ToMatrix(weights);
        Assert.Equal((128, 128, 130, 256), (matrix.BlockRows, matrix.BlockColumns, matrix.Rows, matrix.Columns));
    }

    [Fact]
    public void E4M3Codes_AgreeWithLibtorchFloat8Cast_AfterClamping()
    {
        // libtorch's float8_e4m3fn cast rounds to nearest even too but gives NaN beyond ±448, so clamp first.
        var values = TestMatrices.Random(64, 512, seed: 13).Select((x, i) => x * (i % 7 == 0 ? 600f : 3f)).ToArray();
        var ourCodes = new byte[values.Length];
        Fp8Codec.Encode(values, ourCodes, Fp8Format.E4M3);
        var ours = new float[values.Length];
        Fp8Codec.Decode(ourCodes, ours, Fp8Format.E4M3);

        using var scope = NewDisposeScope();
        var theirs = tensor(values).clamp(-448, 448).to(Fp8TensorQuantizer.Float8E4M3).to(ScalarType.Float32).data<float>().ToArray();
        Assert.Equal(ours, theirs);
        Assert.Contains(ours, x => x == 448f); // the clamp mattered: saturated values were present
    }

    [Fact]
    public void Codes_ReinterpretedAsLibtorchFloat8_DecodeToTheSameValues()
    {
        using var scope = NewDisposeScope();
        var quantized = Fp8TensorQuantizer.QuantizeActivations(tensor(TestMatrices.Random(3, 256, seed: 14), [3, 256]));
        var codes = quantized.Codes.data<byte>().ToArray();
        var float8 = Fp8TensorQuantizer.ToTorchFloat8(quantized);
        Assert.Equal(Fp8TensorQuantizer.Float8E4M3, float8.dtype);
        var viaTorch = float8.to(ScalarType.Float32).data<float>().ToArray();
        var ours = new float[codes.Length];
        Fp8Codec.Decode(codes, ours, Fp8Format.E4M3);
        Assert.Equal(ours, viaTorch);
    }

    [Fact]
    public void NaNInATensor_ThrowsNamingTheTile()
    {
        using var scope = NewDisposeScope();
        var values = zeros(2, 256);
        values[1, 200] = tensor(float.NaN);
        var error = Assert.Throws<NonFiniteInputException>(() => Fp8TensorQuantizer.QuantizeActivations(values));
        Assert.Contains("(row 1, column-block 1)", error.Message);
    }
}
