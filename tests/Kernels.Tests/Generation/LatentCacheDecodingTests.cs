using Orchestrator.Kernels.Generation;
using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Generation;

/// <summary>The latent KV cache path against full recomputation, and what the cache holds.</summary>
[Collection("generation")]
public sealed class LatentCacheDecodingTests
{
    /// <summary>Cached logits may differ from the training forward's by float rounding only (absorbed products, another summation order).</summary>
    private const double LogitTolerance = 1e-4;

    private static readonly int[][] Prompts = [[5, 9, 200, 31], [7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]];

    [Theory]
    [InlineData(16)]
    [InlineData(0)]
    public void CachedGreedy_EqualsFullRecomputation_TokenForToken(int queryLora)
    {
        using var model = GenerationModels.Fresh(queryLora: queryLora);
        using var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 40 };

        var cached = generator.Generate(Prompts, options);
        var recomputed = generator.Generate(Prompts, options with { UseCache = false });

        for (var r = 0; r < Prompts.Length; r++)
        {
            Assert.Equal(40, cached.Completions[r].Tokens.Count);
            Assert.Equal(recomputed.Completions[r].Tokens, cached.Completions[r].Tokens);
        }
        Assert.True(cached.Completions.SelectMany(c => c.Tokens).Distinct().Count() > 5, "a degenerate output would prove little");
        Assert.Equal(40, cached.MainPasses);      // one prefill + 39 single-token steps
        Assert.Equal(40, recomputed.MainPasses);
    }

    [Fact]
    public void CachedLogits_MatchTheTrainingForward_AtEveryPosition_OfABatchOfDifferentLengths()
    {
        using var model = GenerationModels.Fresh();
        using var decoder = new LatentDecoder(model);
        var full = new[] { Sequence(1, 30), Sequence(2, 30), Sequence(3, 30) };
        int[] promptLengths = [4, 1, 11];
        using var recorder = model.NewRecorder();
        using var reference = model.Logits(tensor(full.SelectMany(s => s.Select(t => (long)t)).ToArray(), [3, 30], ScalarType.Int64), recorder);
        using var cache = decoder.NewCache(3, 30);

        // Prefill the right-padded prompts, then feed each row's own next token at its own position.
        var prompts = full.Select((s, r) => s[..promptLengths[r]]).ToArray();
        var worst = 0.0;
        using (var scope = NewDisposeScope())
        {
            var (_, logits) = decoder.Forward(Padded(prompts), Positions(3, 11), cache);
            for (var r = 0; r < 3; r++)
            {
                worst = Math.Max(worst, logits[r, ..promptLengths[r]].sub(reference[r, ..promptLengths[r]]).abs().max().item<float>());
                cache.SetLength(r, promptLengths[r]);
            }
        }
        for (var step = 0; step < 30 - 11; step++)
        {
            using var scope = NewDisposeScope();
            var at = Enumerable.Range(0, 3).Select(r => promptLengths[r] + (long)step).ToArray();
            var tokens = tensor(at.Select((p, r) => (long)full[r][p]).ToArray(), [3, 1], ScalarType.Int64);
            var (_, logits) = decoder.Forward(tokens, tensor(at, [3, 1], ScalarType.Int64), cache);
            for (var r = 0; r < 3; r++)
            {
                worst = Math.Max(worst, logits[r, 0].sub(reference[r, at[r]]).abs().max().item<float>());
                cache.SetLength(r, at[r] + 1);
            }
        }
        Assert.True(worst < LogitTolerance, $"largest logit difference {worst:E2}");
    }

    [Fact]
    public void CachedMtpModules_MatchTheTrainingForwardsMtpLogits_AtEveryDepth()
    {
        using var model = GenerationModels.Fresh(mtpDepth: 2);
        using var decoder = new LatentDecoder(model);
        const int length = 20;
        var windows = new[] { Sequence(4, length + 3), Sequence(5, length + 3) };
        using var recorder = model.NewRecorder();
        using var all = tensor(windows.SelectMany(s => s.Select(t => (long)t)).ToArray(), [2, length + 3], ScalarType.Int64);
        var reference = model.Forward(all, recorder);
        using var cache = decoder.NewCache(2, length);
        using var positions = Positions(2, length);

        var (hidden, logits) = decoder.Forward(all.narrow(1, 0, length), positions, cache);
        var worst = logits.sub(reference[0]).abs().max().item<float>();
        for (var k = 1; k <= 2; k++)
        {
            using var draftCache = decoder.NewDraftCache(k, 2, length);
            (hidden, logits) = decoder.Draft(k, hidden, all.narrow(1, k, length), positions, draftCache);
            worst = Math.Max(worst, logits.sub(reference[k]).abs().max().item<float>());
        }
        Assert.True(worst < LogitTolerance, $"largest logit difference {worst:E2}");
        foreach (var t in reference) t.Dispose();
    }

    [Fact]
    public void TheCache_HoldsOnlyTheLatentAndTheRopeKey_PerLayerAndToken()
    {
        using var model = GenerationModels.Fresh();
        using var decoder = new LatentDecoder(model);
        var config = model.Config;
        using var cache = decoder.NewCache(rows: 3, capacity: 50);

        Assert.Equal(config.Layers, cache.Layers);
        for (var l = 0; l < cache.Layers; l++)
        {
            Assert.Equal([3L, 50, config.KvLoraRank], cache.Latent(l).shape);
            Assert.Equal([3L, 50, config.QkRopeHeadDim], cache.RopeKey(l).shape);
        }
        var perToken = (long)config.Layers * (config.KvLoraRank + config.QkRopeHeadDim) * sizeof(float);
        Assert.Equal(3 * 50 * perToken, cache.Bytes);
        var fullKv = (long)config.Layers * config.Heads * (config.QkHeadDim + config.VHeadDim) * sizeof(float);
        Assert.True(perToken < fullKv, $"{perToken} B a token against {fullKv} B for full K/V");
    }

    [Fact]
    public void Generating_LeavesTheWeightsAndExpertBiasesAsTheyWere()
    {
        using var model = GenerationModels.Fresh();
        using var generator = new TextGenerator(model);
        var before = ModelState.Tensors(model).Select(t => t.Tensor.clone()).ToArray();

        generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 8 });
        generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 8, UseCache = false });

        var after = ModelState.Tensors(model).Select(t => t.Tensor).ToArray();
        for (var i = 0; i < before.Length; i++) Assert.True(before[i].eq(after[i]).all().item<bool>(), $"tensor {i} changed");
        Assert.Contains(ModelState.Tensors(model), t => t.Name.EndsWith("expert_bias", StringComparison.Ordinal));
        foreach (var t in before) t.Dispose();
    }

    private static int[] Sequence(int seed, int length) =>
        Enumerable.Range(0, length).Select(i => (int)((seed * 7919L + i * (31 + seed)) * 2654435761L % 257)).ToArray();

    private static Tensor Padded(int[][] prompts)
    {
        var width = prompts.Max(p => p.Length);
        var data = new long[prompts.Length * width];
        for (var r = 0; r < prompts.Length; r++)
            for (var i = 0; i < prompts[r].Length; i++) data[r * width + i] = prompts[r][i];
        return tensor(data, [prompts.Length, width], ScalarType.Int64);
    }

    private static Tensor Positions(int rows, int width) => arange(width, dtype: ScalarType.Int64).unsqueeze(0).expand(rows, width).contiguous();
}
