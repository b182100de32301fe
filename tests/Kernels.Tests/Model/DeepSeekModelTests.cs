using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Model;

public sealed class DeepSeekModelTests
{
    public DeepSeekModelTests() => Torch.Ready();

    [Fact]
    public void Mla_KeepsShape_AndIsCausal()
    {
        manual_seed(5);
        var config = TinyModels.Micro();
        using var rope = new RotaryEmbedding(config.QkRopeHeadDim, config.MaxSequenceLength, config.RopeTheta);
        using var attention = new MultiHeadLatentAttention("attn", config, rope);
        ParameterInit.Initialize(attention, 5, 0.02);
        using var x = randn(2, 12, config.Dim);
        using var changed = x.clone();
        using (no_grad()) changed[.., 7] = randn(2, config.Dim);

        using var a = attention.forward(x);
        using var b = attention.forward(changed);

        Assert.Equal([2L, 12, config.Dim], a.shape);
        Assert.True(a[.., ..7].eq(b[.., ..7]).all().item<bool>(), "positions before the change must not see it");
        Assert.False(a[.., 7..].allclose(b[.., 7..]), "positions from the change on must see it");
    }

    [Fact]
    public void Mla_WithoutQueryCompression_Works()
    {
        var config = TinyModels.Micro() with { QueryLoraRank = 0 };
        using var rope = new RotaryEmbedding(config.QkRopeHeadDim, config.MaxSequenceLength, config.RopeTheta);
        using var attention = new MultiHeadLatentAttention("attn", config, rope);
        ParameterInit.Initialize(attention, 5, 0.02);
        using var y = attention.forward(randn(1, 4, config.Dim));
        Assert.Equal([1L, 4, config.Dim], y.shape);
        Assert.Contains(attention.named_parameters(), p => p.name == "wq.weight");
    }

    [Fact]
    public void Mtp_DepthK_PredictsTokenTPlusKPlusOne_FromTokensUpToTPlusK()
    {
        manual_seed(6);
        var config = TinyModels.Micro(mtpDepth: 2);
        using var model = new DeepSeekModel(config, seed: 6);
        using var recorder = model.NewRecorder();
        const int length = 10, i = 3;
        using var windows = randint(0, config.VocabSize, [1, length + 1 + 2], dtype: ScalarType.Int64);

        var logits = model.Forward(windows, recorder);
        Assert.Equal(3, logits.Count);
        for (var k = 0; k <= 2; k++)
        {
            // Depth k at position i may see tokens ≤ i+k and nothing later.
            using var later = windows.clone();
            using (no_grad()) later[0, i + k + 1] = (later[0, i + k + 1] + 1) % config.VocabSize;
            using var own = windows.clone();
            using (no_grad()) own[0, i + k] = (own[0, i + k] + 1) % config.VocabSize;
            var withLater = model.Forward(later, recorder);
            var withOwn = model.Forward(own, recorder);
            // Not bit-exact: a changed later token can reroute, which changes how many rows an
            // expert's matmul holds and so its blocking; the effect is rounding, not information.
            Assert.True(logits[k][0, i].allclose(withLater[k][0, i], rtol: 1e-5, atol: 1e-6), $"depth {k} saw token {i + k + 1}");
            Assert.True((logits[k][0, i] - withOwn[k][0, i]).abs().max().item<float>() > 1e-3, $"depth {k} ignored token {i + k}");
        }

        // The loss pairs depth k's logits with the targets shifted by k+1.
        using var loss = model.Loss(windows, recorder);
        for (var k = 0; k <= 2; k++)
        {
            using var expected = nn.functional.cross_entropy(logits[k].reshape(-1, config.VocabSize), windows[.., (k + 1)..(k + 1 + length)].reshape(-1));
            var actual = k == 0 ? loss.Main : loss.Mtp[k - 1];
            Assert.Equal(expected.item<float>(), actual.item<float>(), 5);
        }
    }

    [Fact]
    public void MainModel_IsUsableWithoutMtp_AndEqualsTheMtpModelsMainPath()
    {
        using var withMtp = new DeepSeekModel(TinyModels.Micro(mtpDepth: 1), seed: 7);
        using var without = new DeepSeekModel(TinyModels.Micro(mtpDepth: 0), seed: 7);
        using var recorder = withMtp.NewRecorder();
        using var tokens = randint(0, 257, [2, 8], dtype: ScalarType.Int64);

        using var a = withMtp.Logits(tokens, recorder);
        using var b = without.Logits(tokens, without.NewRecorder());

        Assert.Equal([2L, 8, 257], a.shape);
        Assert.True(a.eq(b).all().item<bool>());
    }

    [Fact]
    public void MoeLayer_RoutesEveryTokenWithoutDropping()
    {
        manual_seed(8);
        var config = TinyModels.Micro();
        using var model = new DeepSeekModel(config, seed: 6);
        using var recorder = model.NewRecorder();
        using var windows = randint(0, config.VocabSize, [3, 9 + 2], dtype: ScalarType.Int64);

        using var loss = model.Loss(windows, recorder);

        // Main MoE layer and the MTP module's: every one of B·T tokens goes to exactly k experts.
        Assert.Equal(2, recorder.Loads.Count);
        Assert.All(recorder.Loads, l => Assert.Equal(3 * 9 * config.ActivatedExperts, l.Sum()));
        Assert.True(loss.Balance.item<float>() > 0);
    }
}
