using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Tests.Support;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Fp8;

public sealed class Fp8FakeQuantTests
{
    public Fp8FakeQuantTests() => Torch.Ready();

    public static TheoryData<int, int, double> Shapes => new()
    {
        { 1, 128, 1.0 }, { 7, 300, 3.0 }, { 130, 257, 1e-3 }, { 256, 128, 200.0 }, { 33, 5, 1e-30 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TorchOps_AreBitEqualToTheCpuCodec(int rows, int columns, double magnitude)
    {
        manual_seed(rows * 1000 + columns);
        using var x = randn(rows, columns) * magnitude;
        using (no_grad()) x[0, 0] = 0; // a zero among the values
        if (rows > 2) using (no_grad()) x[2] = 0; // an all-zero tile row

        foreach (var (fast, reference) in new (Func<Tensor, Tensor>, Func<Tensor, Fp8Tensor>)[]
                 { (Fp8FakeQuant.Tiles, t => Fp8TensorQuantizer.QuantizeActivations(t)), (Fp8FakeQuant.Blocks, t => Fp8TensorQuantizer.QuantizeWeights(t)) })
        {
            using var a = fast(x);
            using var b = Fp8TensorQuantizer.Dequantize(reference(x));
            Assert.True(a.eq(b).all().item<bool>(), $"{rows}x{columns} at {magnitude}: max difference {(a - b).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void NonFiniteInput_IsRefused_NamingTheTile()
    {
        using var x = zeros(4, 300);
        using (no_grad()) x[3, 260] = float.PositiveInfinity;

        var error = Assert.Throws<NonFiniteInputException>(() => Fp8FakeQuant.Tiles(x));

        Assert.Equal(3, error.Row);
        Assert.Equal(260, error.Column);
        Assert.Equal(2, error.BlockColumn);
    }
}
