using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Generation;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training.Rl;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Rl;

/// <summary>
/// GRPO in one process on a small MLA + MoE model and the byte tokenizer: the completions' log-probs are those of
/// each row alone, the first step starts on the reference (no KL, nothing clipped), a run is the same bits again
/// with the same seed, and the policy learns what a rule-based reward pays for.
/// </summary>
public sealed class GrpoTrainerTests
{
    private static readonly ITextTokenizer Bytes = TokenizerCatalog.Create(ByteTokenizer.CatalogName);
    private static readonly string[] Prompts = ["12+7=", "3*4=", "hello ", "The sum of 5 and 9 is ", "x"];

    /// <summary>Pays for lowercase ASCII letters: the share of the completion's characters that are a–z.</summary>
    private static RolloutReward Letters(int prompt, string completion) =>
        new(completion.Length == 0 ? 0 : completion.Count(c => c is >= 'a' and <= 'z') / (double)completion.Length, 0);

    private static GrpoTrainer Trainer(out DeepSeekModel policy, GrpoOptions? options = null, ulong seed = 5)
    {
        policy = GenerationModels.Fresh(seed);
        var reference = GenerationModels.Fresh(seed);
        return new GrpoTrainer(policy, reference, Bytes, Prompts, Letters, TinyModels.MicroTraining,
            options ?? new GrpoOptions { GroupSize = 8, PromptsPerStep = 4, MaxNewTokens = 8, LearningRate = 3e-3, Seed = 21 });
    }

    [Fact]
    public void CompletionLogProbs_AreEachRowsOwn_OnItsCompletionTokensOnly()
    {
        Torch.Ready();
        using var model = GenerationModels.Fresh();
        int[][] prompts = [[5, 6, 7], [9], [1, 2, 3, 4, 5]];
        IReadOnlyList<int>[] completions = [[8, 9], [10, 11, 12, 13], [6]];

        using var noGrad = no_grad();
        var (logProbs, mask) = CompletionLogProbs.Of(model, prompts, completions);

        Assert.Equal(new long[] { 3, 4 }, logProbs.shape);
        Assert.Equal(new float[] { 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0 }, mask.data<float>().ToArray());
        for (var r = 0; r < prompts.Length; r++)
        {
            // The row alone, unpadded: log-softmax of the main model's logits at the position before each completion token.
            var row = prompts[r].Concat(completions[r]).Select(t => (long)t).ToArray();
            using var recorder = model.NewRecorder();
            using var logits = model.Logits(tensor(row, [1, row.Length]), recorder);
            using var alone = logits.log_softmax(-1);
            for (var t = 0; t < completions[r].Count; t++)
            {
                var expected = alone[0, prompts[r].Length + t - 1, completions[r][t]].item<float>();
                Assert.Equal(expected, logProbs[r, t].item<float>(), 5);
            }
            for (var t = completions[r].Count; t < 4; t++) Assert.Equal(0f, logProbs[r, t].item<float>());
        }
    }

    [Fact]
    public void CompletionLogProbs_RefuseRowsThatCannotBeScored_NamingTheRow()
    {
        Torch.Ready();
        using var model = GenerationModels.Fresh();
        Assert.Contains("row 1: the completion is empty",
            Assert.Throws<ArgumentException>(() => CompletionLogProbs.Of(model, [[1], [2]], [[3], []])).Message, StringComparison.Ordinal);
        Assert.Contains("more than model.max_seq_len (96)",
            Assert.Throws<ArgumentException>(() => CompletionLogProbs.Of(model, [new int[90]], [new int[10]])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFirstStep_StartsOnTheReference_NoKlAndNothingClipped_AndItsGroupsAreOfItsPrompts()
    {
        Torch.Ready();
        using var trainer = Trainer(out var policy);

        var first = trainer.TrainStep();

        Assert.Equal(1, first.Step);
        Assert.Equal(0, first.Kl, 9); // the policy is still the reference's weights when the loss is taken
        Assert.Equal(0, first.ClipFraction); // one pass: the ratio is exactly 1
        Assert.Equal(4, first.Samples.Count);
        Assert.Equal(4, first.Samples.Select(s => s.Prompt).Distinct().Count());
        Assert.InRange(first.CompletionTokens, 1, 8);
        Assert.True(first.GradientNorm > 0, "the rewards differ within a group, so the policy gets a gradient");
        var second = trainer.TrainStep();
        Assert.True(second.Kl > 0, $"after one update the policy differs from the reference (KL {second.Kl})");
        policy.Dispose();
    }

    [Fact]
    public void TheSameSeed_GivesTheSameRolloutsRewardsAndWeights()
    {
        Torch.Ready();
        using var a = Trainer(out var policyA);
        using var b = Trainer(out var policyB);

        for (var i = 0; i < 2; i++)
        {
            var (ra, rb) = (a.TrainStep(), b.TrainStep());
            Assert.Equal(ra.Samples.Select(s => s.Completion), rb.Samples.Select(s => s.Completion));
            Assert.Equal((ra.Accuracy, ra.Loss, ra.Kl, ra.GradientNorm), (rb.Accuracy, rb.Loss, rb.Kl, rb.GradientNorm));
        }
        foreach (var ((name, x), (_, y)) in policyA.named_parameters().Zip(policyB.named_parameters()))
            Assert.True(x.eq(y).all().item<bool>(), name);
        policyA.Dispose();
        policyB.Dispose();
    }

    [Fact]
    public void ThePolicy_LearnsWhatTheRewardPaysFor()
    {
        Torch.Ready();
        using var trainer = Trainer(out var policy, new GrpoOptions { GroupSize = 8, PromptsPerStep = 4, MaxNewTokens = 6, LearningRate = 1e-2, Seed = 3 });

        var reports = Enumerable.Range(0, 16).Select(_ => trainer.TrainStep()).ToArray();

        var before = reports.Take(3).Average(r => r.Accuracy);
        var after = reports.TakeLast(3).Average(r => r.Accuracy);
        Assert.True(after > before + 0.15 && after > 2 * before,
            $"the share of lowercase letters went from {before:F3} to {after:F3}: {string.Join(" ", reports.Select(r => r.Accuracy.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
        policy.Dispose();
    }
}
