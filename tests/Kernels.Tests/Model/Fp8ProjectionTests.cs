using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Model;

public sealed class Fp8ProjectionTests
{
    public Fp8ProjectionTests() => Torch.Ready();

    private static Projection NewProjection(int inFeatures, int outFeatures, GemmPrecision precision, ulong seed = 11)
    {
        var projection = new Projection("p", inFeatures, outFeatures, precision);
        ParameterInit.Initialize(projection, seed, 0.05);
        return projection;
    }

    /// <summary>Decodes every E4M3 code with the scalar reference codec and applies its tile's scale.</summary>
    private static float[] Decoded(ScaledFp8Matrix m)
    {
        var values = new float[m.Rows * m.Columns];
        for (var r = 0; r < m.Rows; r++)
            for (var c = 0; c < m.Columns; c++)
                values[r * m.Columns + c] = Fp8ScalarCodec.Decode(m.Codes[r * m.Columns + c], Fp8Format.E4M3) * m.Scales[(r / m.BlockRows) * m.ScaleColumns + c / m.BlockColumns];
        return values;
    }

    [Fact]
    public void Fprop_IsExactlyTheProductOfTheDecodedTilesAndBlocks()
    {
        using var projection = NewProjection(200, 136, GemmPrecision.Fp8); // edge tiles and blocks in both dimensions
        using var x = randn(3, 5, 200) * 3;

        using var y = projection.forward(x);

        var tiles = TileQuantizer.Quantize(x.reshape(15, 200).data<float>().ToArray(), 15, 200);
        var blocks = BlockQuantizer.Quantize(projection.Weight.detach().data<float>().ToArray(), 136, 200);
        using var expected = tensor(Decoded(tiles), [15, 200]).matmul(tensor(Decoded(blocks), [136, 200]).t()).reshape(3, 5, 136);
        Assert.Equal([3L, 5, 136], y.shape);
        Assert.True(expected.eq(y).all().item<bool>(), "FP8 Fprop must equal the GEMM of the decoded E4M3 inputs");
    }

    [Fact]
    public void Gradients_FollowFullPrecisionClosely_AndTheWeightGradientIsFp32()
    {
        using var fp8 = NewProjection(256, 128, GemmPrecision.Fp8);
        using var full = NewProjection(256, 128, GemmPrecision.Float32);
        using var x8 = (randn(64, 256)).requires_grad_(true);
        using var x32 = x8.detach().clone().requires_grad_(true);
        using var upstream = randn(64, 128);

        (fp8.forward(x8) * upstream).sum().backward();
        (full.forward(x32) * upstream).sum().backward();

        static double Cosine(Tensor a, Tensor b) => (a * b).sum().item<float>() / (a.norm().item<float>() * b.norm().item<float>());
        Assert.InRange(Cosine(x8.grad!, x32.grad!), 0.998, 1.0);
        Assert.InRange(Cosine(fp8.Weight.grad!, full.Weight.grad!), 0.998, 1.0);
        Assert.False(x8.grad!.eq(x32.grad!).all().item<bool>(), "Dgrad must see quantised inputs");
        Assert.Equal(ScalarType.Float32, fp8.Weight.grad!.dtype);
    }

    [Fact]
    public void Fp8Model_KeepsTheHeadInFullPrecision_AndEveryOtherProjectionInFp8()
    {
        using var model = new DeepSeekModel(TinyModels.Micro() with { GemmPrecision = "fp8" }, seed: 1);

        var projections = model.named_modules().Where(m => m.module is Projection).Select(m => (m.name, ((Projection)m.module).Precision)).ToArray();

        Assert.Contains(projections, p => p.name == "head" && p.Precision == GemmPrecision.Float32);
        Assert.All(projections.Where(p => p.name != "head"), p => Assert.Equal(GemmPrecision.Fp8, p.Precision));
        Assert.True(projections.Length > 20);
    }

    [Fact]
    public void Fp8Training_LowersTheLoss_AndStaysCloseToFullPrecision()
    {
        var training = TinyModels.MicroTraining;
        var source = new PatternBatchSource(257, training.MicroBatchSize, training.SequenceLength + 2);
        using var fp8 = new Trainer(TinyModels.Micro() with { GemmPrecision = "fp8" }, training, source, 30);
        using var full = new Trainer(TinyModels.Micro(), training, source, 30);

        var a = Enumerable.Range(0, 30).Select(_ => fp8.TrainStep().MainLoss).ToArray();
        var b = Enumerable.Range(0, 30).Select(_ => full.TrainStep().MainLoss).ToArray();

        Assert.True(a[^5..].Average() < a[..5].Average() - 0.25);
        Assert.InRange(a[^5..].Average() / b[^5..].Average(), 0.97, 1.03);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Fp8Training_WithANaNWeight_StopsNamingTheTile()
    {
        var training = TinyModels.MicroTraining;
        using var trainer = new Trainer(TinyModels.Micro() with { GemmPrecision = "fp8" }, training,
            new PatternBatchSource(257, training.MicroBatchSize, training.SequenceLength + 2), 5);
        using (no_grad()) trainer.Model.named_parameters().First(p => p.name == "layers.0.attn.wo.weight").parameter[5, 3] = float.NaN;

        var error = Assert.Throws<NonFiniteLossException>(() => trainer.TrainStep());

        Assert.Contains("block", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, trainer.Step);
    }
}
