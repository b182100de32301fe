using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Generation;

namespace Orchestrator.Kernels.Tests.Generation;

/// <summary>Seeded temperature / top-p sampling, greedy limits, stop strings and the options' errors.</summary>
[Collection("generation")]
public sealed class SamplingTests
{
    private static readonly int[][] Prompts = [[72, 101, 108], [84, 104, 101, 32, 113, 117, 105, 99, 107]];

    [Fact]
    public void SameSeed_SameTokens_DifferentSeed_DifferentTokens()
    {
        using var model = GenerationModels.Fresh();
        using var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 1.0, TopP = 0.95, Seed = 42 };

        var first = generator.Generate(Prompts, options);
        var again = generator.Generate(Prompts, options);
        var other = generator.Generate(Prompts, options with { Seed = 43 });

        for (var r = 0; r < Prompts.Length; r++) Assert.Equal(first.Completions[r].Tokens, again.Completions[r].Tokens);
        Assert.NotEqual(first.Completions.SelectMany(c => c.Tokens), other.Completions.SelectMany(c => c.Tokens));
    }

    [Fact]
    public void ARow_SamplesAsItWouldAlone()
    {
        using var model = GenerationModels.Fresh();
        using var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 16, Temperature = 0.8, Seed = 5 };

        var batch = generator.Generate(Prompts, options);
        var alone = generator.Generate([Prompts[0]], options);

        Assert.Equal(alone.Completions[0].Tokens, batch.Completions[0].Tokens);
    }

    [Fact]
    public void TinyTopP_IsGreedy_AndSamplingDiffersFromGreedy()
    {
        using var model = GenerationModels.Fresh();
        using var generator = new TextGenerator(model);
        var greedy = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 24 });
        var nucleus = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 24, Temperature = 1.5, TopP = 1e-9, Seed = 9 });
        var sampled = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 24, Temperature = 1.5, Seed = 9 });

        for (var r = 0; r < Prompts.Length; r++) Assert.Equal(greedy.Completions[r].Tokens, nucleus.Completions[r].Tokens);
        Assert.NotEqual(greedy.Completions.SelectMany(c => c.Tokens), sampled.Completions.SelectMany(c => c.Tokens));
    }

    [Fact]
    public void Sampler_DrawsInProportionToTheSoftmax()
    {
        float[] logits = [0f, (float)Math.Log(2), (float)Math.Log(5)];
        var options = new GenerationOptions { Temperature = 1.0 };
        var stream = new SplitMix64(3);
        var counts = new int[3];
        for (var i = 0; i < 16_000; i++) counts[TokenSampler.Choose(logits, options, ref stream)]++;

        Assert.InRange(counts[0], 2000 - 200, 2000 + 200);  // 1/8
        Assert.InRange(counts[1], 4000 - 250, 4000 + 250);  // 2/8
        Assert.InRange(counts[2], 10000 - 300, 10000 + 300); // 5/8

        var nucleus = options with { TopP = 0.7 }; // 5/8 < 0.7 ≤ 7/8: the two likeliest remain
        Array.Clear(counts);
        for (var i = 0; i < 7000; i++) counts[TokenSampler.Choose(logits, nucleus, ref stream)]++;
        Assert.Equal(0, counts[0]);
        Assert.InRange(counts[1], 2000 - 200, 2000 + 200);
    }

    [Fact]
    public void StopStrings_CutTheText_AndEndTheRow()
    {
        using var model = GenerationModels.Fresh();
        using var generator = new TextGenerator(model, new ByteTokenizer());
        var options = new GenerationOptions { MaxNewTokens = 30, Temperature = 0.9, Seed = 1 };
        var free = generator.Generate(["Hello", "The quick"], options).Completions[1];
        Assert.Equal(FinishReason.Length, free.Finish);
        var stop = free.Text!.Substring(10, 2);
        var expected = free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)];

        var stopped = generator.Generate(["Hello", "The quick"], options with { Stop = [stop, "\u0001never"] }).Completions[1];

        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(expected, stopped.Text);
        Assert.True(stopped.Tokens.Count < free.Tokens.Count);
        Assert.Equal(free.Tokens.Take(stopped.Tokens.Count), stopped.Tokens);
    }

    [Fact]
    public void BadOptionsAndPrompts_AreRefused_NamingTheField()
    {
        using var model = GenerationModels.Fresh();
        using var generator = new TextGenerator(model);
        void Refused(string field, IReadOnlyList<int[]> prompts, GenerationOptions options) =>
            Assert.Contains(field, Assert.Throws<ArgumentException>(() => generator.Generate(prompts, options)).Message, StringComparison.Ordinal);

        Refused("max_tokens", Prompts, new GenerationOptions { MaxNewTokens = 0 });
        Refused("max_tokens", Prompts, new GenerationOptions { MaxNewTokens = 95 });
        Refused("temperature", Prompts, new GenerationOptions { Temperature = -1 });
        Refused("top_p", Prompts, new GenerationOptions { TopP = 0 });
        Refused("top_p", Prompts, new GenerationOptions { TopP = 1.5 });
        Refused("prompts[1]", [[1], []], new GenerationOptions());
        Refused("prompts[0]", [[1, 999]], new GenerationOptions());
        Refused("stop", Prompts, new GenerationOptions { Stop = ["x"] });
        Refused("speculative", Prompts, new GenerationOptions { Speculative = true, Temperature = 0.5 });
    }
}
