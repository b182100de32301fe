using Orchestrator.Kernels.Model;

namespace Orchestrator.Kernels.Tests.Model;

public sealed class StageSplitTests
{
    [Fact]
    public void EvenSplit_GivesTheFirstStagesTheRemainder_EmbeddingFirst_HeadLast()
    {
        var split = StageSplit.Of(61, 16);
        Assert.Equal(16, split.Stages.Count);
        Assert.Equal(Enumerable.Repeat(4, 13).Concat(Enumerable.Repeat(3, 3)), split.Stages.Select(s => s.LayerCount));
        Assert.Equal(new StageLayers(0, 0, 4, HoldsEmbedding: true, HoldsHead: false), split.Stages[0]);
        Assert.Equal(new StageLayers(15, 58, 3, HoldsEmbedding: false, HoldsHead: true), split.Stages[15]);
        Assert.All(split.Stages.Skip(1).SkipLast(1), s => Assert.False(s.HoldsEmbedding || s.HoldsHead));
    }

    [Fact]
    public void EveryLayer_BelongsToExactlyOneStage_InOrder()
    {
        for (var layers = 1; layers <= 24; layers++)
        for (var stages = 1; stages <= layers; stages++)
        {
            var split = StageSplit.Of(layers, stages);
            var owners = Enumerable.Range(0, layers).Select(l => split.StageOfLayer(l).Stage).ToArray();
            Assert.Equal(owners.Order(), owners);
            Assert.Equal(Enumerable.Range(0, stages), owners.Distinct());
            Assert.True(split.Stages.Max(s => s.LayerCount) - split.Stages.Min(s => s.LayerCount) <= 1);
        }
    }

    [Fact]
    public void OneStage_HoldsEverything() =>
        Assert.Equal(new StageLayers(0, 0, 3, true, true), Assert.Single(StageSplit.Of(3, 1).Stages));

    [Fact]
    public void ExplicitLayers_OverrideTheEvenSplit()
    {
        var split = StageSplit.Of(8, 4, [1, 2, 2, 3]);
        Assert.Equal([0, 1, 3, 5], split.Stages.Select(s => s.FirstLayer));
        Assert.Equal(2, split.StageOfLayer(4).Stage);
        Assert.Equal(3, split.StageOfLayer(5).Stage);
        Assert.Throws<ArgumentOutOfRangeException>(() => split.StageOfLayer(8));
    }

    [Theory]
    [InlineData(3, 4, null, "3 layers cannot fill 4 virtual stages: stage 3 would hold no layer")]
    [InlineData(4, 2, new[] { 4, 0 }, "stage 1 holds no layer")]
    [InlineData(4, 2, new[] { 1, 2 }, "[1, 2] does not add up to the model's 4 layers (model.n_layers)")]
    [InlineData(4, 2, new[] { 5, -1 }, "[5, -1] does not add up")]
    [InlineData(4, 3, new[] { 2, 2 }, "lists 2 stages but the pipeline has 3 virtual stages")]
    public void ImpossibleSplits_AreRefusedSayingWhy(int layers, int stages, int[]? counts, string expected) =>
        Assert.StartsWith(expected, Assert.Throws<StageSplitException>(() => StageSplit.Of(layers, stages, counts)).Message, StringComparison.Ordinal);
}
