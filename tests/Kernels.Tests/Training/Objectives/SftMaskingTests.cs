using Orchestrator.Kernels.Training.Objectives;
using Orchestrator.Kernels.Tests.Support;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

/// <summary>SFT's loss is taken on response tokens only: prompt tokens (and padding) are masked exactly.</summary>
public sealed class SftMaskingTests
{
    public SftMaskingTests() => Torch.Ready();

    // Example tokens: prompt length 3 + response 2 (the last the end-of-text), and prompt 2 + response 4.
    private static readonly SftExample[] Examples = [new([10, 11, 12, 20, 256], 3), new([13, 14, 21, 22, 23, 256], 2)];

    [Fact]
    public void LossMask_CountsExactlyTheResponseTokens()
    {
        var packing = new SftPacking(Examples, rowLength: 16, seed: 1, padToken: 256);
        Assert.Equal(1, packing.Rows);
        var (tokens, mask, documents, positions) = Row(packing);
        Assert.Equal(Examples.Sum(e => e.ResponseLength), mask.Sum());
        foreach (var (example, start) in packing.Contents(0))
        {
            var e = Examples[example];
            for (var i = 0; i < e.Tokens.Length; i++) Assert.Equal(e.Tokens[i], tokens[start + i]);
            // Input i has loss iff its target (token i + 1) is a response token.
            for (var i = 0; i < e.Tokens.Length - 1; i++) Assert.Equal(i + 1 >= e.PromptLength ? 1f : 0f, mask[start + i]);
            Assert.Equal(Enumerable.Range(0, e.Tokens.Length).Select(i => (long)i), positions.Skip(start).Take(e.Tokens.Length));
            Assert.All(documents.Skip(start).Take(e.Tokens.Length), d => Assert.Equal(documents[start], d));
        }
        Assert.All(mask.Skip(11), m => Assert.Equal(0f, m)); // the padding has no loss
    }

    [Fact]
    public void Gradient_IsZeroOnLogitsWhoseTargetIsAPromptToken()
    {
        var packing = new SftPacking(Examples, rowLength: 16, seed: 1, padToken: 256);
        var (tokens, mask, _, _) = Row(packing);
        manual_seed(3);
        using var logits = randn(1, 15, 257, dtype: float64).requires_grad_();
        using var targets = tensor(tokens[1..], [1, 15], ScalarType.Int64);
        using var weights = tensor(mask, [1, 15]);
        using var loss = MaskedLoss.CrossEntropyMean(logits, targets, weights);
        loss.backward();
        using var grad = logits.grad!;
        for (var t = 0; t < 15; t++)
        {
            var rowGrad = grad[0, t].abs().sum().item<double>();
            if (mask[t] == 0) Assert.Equal(0, rowGrad);
            else Assert.True(rowGrad > 0, $"position {t} predicts a response token and must get a gradient");
        }
        // The mean over the 6 response tokens: the sum of their losses / 6.
        var (sum, count) = MaskedLoss.CrossEntropySum(logits, targets, weights);
        Assert.Equal(6, count);
        Assert.Equal(sum.item<double>() / 6, loss.item<double>(), 12);
        sum.Dispose();
    }

    internal static (long[] Tokens, float[] Mask, long[] Documents, long[] Positions) Row(SftPacking packing, int row = 0)
    {
        var tokens = new long[packing.RowLength];
        var mask = new float[packing.RowLength - 1];
        var documents = new long[packing.RowLength - 1];
        var positions = new long[packing.RowLength - 1];
        packing.Fill(row, tokens, mask, documents, positions);
        return (tokens, mask, documents, positions);
    }
}
