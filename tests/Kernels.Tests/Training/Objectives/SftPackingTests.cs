using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

/// <summary>Packing several examples in one row changes nothing of each: attention and positions stay within an example.</summary>
public sealed class SftPackingTests
{
    private const int RowLength = 32;

    private static readonly SftExample[] Examples =
    [
        new([72, 105, 58, 32, 49, 43, 50, 10, 51, 256], 7),
        new([87, 104, 97, 116, 32, 105, 115, 63, 10, 52, 50, 256], 9),
        new([79, 107, 58, 10, 121, 101, 115, 256], 4),
    ];

    public SftPackingTests() => Torch.Ready();

    [Fact]
    public void PackedRowLoss_EqualsTheSumOfTheExamplesRunSeparately()
    {
        using var model = new DeepSeekModel(TinyModels.Micro(mtpDepth: 0), seed: 21);
        using var recorder = model.NewRecorder();
        var packing = new SftPacking(Examples, RowLength, seed: 4, padToken: 256);
        Assert.Equal(1, packing.Rows);
        Assert.Equal(3, packing.Contents(0).Count);

        using var packed = PackedLogits(model, recorder, packing, out var tokens, out var mask);
        var (packedSum, packedCount) = MaskedLoss.CrossEntropySum(packed, tensor(tokens[1..], [1, RowLength - 1], ScalarType.Int64), tensor(mask, [1, RowLength - 1]));

        double separate = 0;
        long separateCount = 0;
        foreach (var example in Examples)
        {
            // Alone, unpacked, through the plain causal path (no layout): positions 0.., attention over the row.
            var length = example.Tokens.Length - 1;
            using var input = tensor(example.Tokens.Take(length).Select(t => (long)t).ToArray(), [1, length], ScalarType.Int64);
            using var logits = model.TrainingLogits(input, recorder, null);
            recorder.TakeBalanceLoss().Dispose();
            var targets = tensor(example.Tokens.Skip(1).Select(t => (long)t).ToArray(), [1, length], ScalarType.Int64);
            var weights = tensor(Enumerable.Range(0, length).Select(i => i + 1 >= example.PromptLength ? 1f : 0f).ToArray(), [1, length]);
            var (sum, count) = MaskedLoss.CrossEntropySum(logits, targets, weights);
            separate += sum.item<float>();
            separateCount += count;
        }

        Assert.Equal(separateCount, packedCount);
        Assert.Equal(separate, packedSum.item<float>(), 3e-4);
    }

    [Fact]
    public void Attention_DoesNotCrossExamples()
    {
        using var model = new DeepSeekModel(TinyModels.Micro(mtpDepth: 0), seed: 22);
        using var recorder = model.NewRecorder();
        var packing = new SftPacking(Examples, RowLength, seed: 4, padToken: 256);
        var changed = Examples.Select(e => e).ToArray();
        var (middle, middleStart) = packing.Contents(0)[1];
        changed[middle] = Examples[middle] with { Tokens = Examples[middle].Tokens.Select(t => t == 256 ? t : (t + 7) % 256).ToArray() };
        var changedPacking = new SftPacking(changed, RowLength, seed: 4, padToken: 256);
        Assert.Equal(packing.Contents(0), changedPacking.Contents(0)); // the same places in the row

        using var a = PackedLogits(model, recorder, packing, out _, out _);
        using var b = PackedLogits(model, recorder, changedPacking, out _, out _);
        var middleEnd = middleStart + Examples[middle].Tokens.Length;
        Assert.True(a[0, ..middleStart].allclose(b[0, ..middleStart], rtol: 0, atol: 1e-6), "the example before must not see the changed one");
        Assert.True(a[0, middleEnd..].allclose(b[0, middleEnd..], rtol: 0, atol: 1e-6), "the example after must not see it either");
        Assert.False(a[0, middleStart..middleEnd].allclose(b[0, middleStart..middleEnd]), "the changed example itself changes");
    }

    private static Tensor PackedLogits(DeepSeekModel model, RoutingRecorder recorder, SftPacking packing, out long[] tokens, out float[] mask)
    {
        var (t, m, documents, positions) = SftMaskingTests.Row(packing);
        (tokens, mask) = (t, m);
        using var layout = SequenceLayout.FromDocuments(documents, positions, 1, RowLength - 1, model.Device);
        using var input = tensor(t[..^1], [1, RowLength - 1], ScalarType.Int64);
        var logits = model.TrainingLogits(input, recorder, layout);
        recorder.TakeBalanceLoss().Dispose();
        return logits;
    }
}
