using Orchestrator.Kernels.Generation;

namespace Orchestrator.Kernels.Tests.Generation;

/// <summary>MTP speculative decoding gives plain greedy decoding's tokens, and counts its drafts.</summary>
[Collection("generation")]
public sealed class SpeculativeDecodingTests
{
    [Fact]
    public void Speculative_EqualsPlainGreedy_OnATrainedModelWithTwoMtpModules_AndReportsAcceptance()
    {
        using var generator = new TextGenerator(GenerationModels.Trained);
        var options = new GenerationOptions { MaxNewTokens = 36 };

        var plain = generator.Generate(GenerationModels.ProgressionPrompts, options);
        var speculative = generator.Generate(GenerationModels.ProgressionPrompts, options with { Speculative = true });

        for (var r = 0; r < GenerationModels.ProgressionPrompts.Length; r++)
            Assert.Equal(plain.Completions[r].Tokens, speculative.Completions[r].Tokens);
        Assert.True(speculative.Drafted > 0);
        Assert.Equal(0, speculative.Drafted % 2); // two drafts a round and row
        Assert.InRange(speculative.Accepted, 1, speculative.Drafted - 1); // both the kept and the rolled-back path ran
        Assert.True(speculative.MainPasses < plain.MainPasses, $"{speculative.MainPasses} main passes against {plain.MainPasses}");
        Assert.Equal(speculative.Accepted / (double)speculative.Drafted, speculative.AcceptanceRate);
        Assert.Null(plain.AcceptanceRate);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Speculative_EqualsPlainGreedy_OnAnUntrainedModel(int mtpDepth)
    {
        using var model = GenerationModels.Fresh(seed: 23, mtpDepth: mtpDepth);
        using var generator = new TextGenerator(model);
        int[][] prompts = [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3, 5, 8, 9, 7], [2]];
        var options = new GenerationOptions { MaxNewTokens = 30 };

        var plain = generator.Generate(prompts, options);
        var speculative = generator.Generate(prompts, options with { Speculative = true });

        for (var r = 0; r < prompts.Length; r++) Assert.Equal(plain.Completions[r].Tokens, speculative.Completions[r].Tokens);
        Assert.True(speculative.Drafted > 0);
    }

    [Fact]
    public void Speculative_WithoutAnMtpModule_IsRefused()
    {
        Support.Torch.Ready();
        using var model = new Orchestrator.Kernels.Model.DeepSeekModel(GenerationModels.Config() with { MtpDepth = 0 }, 3);
        using var generator = new TextGenerator(model);

        var error = Assert.Throws<ArgumentException>(() => generator.Generate([[1, 2]], new GenerationOptions { Speculative = true }));
        Assert.Contains("mtp_depth", error.Message, StringComparison.Ordinal);
    }
}
