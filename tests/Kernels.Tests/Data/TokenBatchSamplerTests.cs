using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tests.Data;

public sealed class TokenBatchSamplerTests : IDisposable
{
    // 200 text bytes + end-of-text = 201 tokens; windows of 5 tokens step by 4, so 50 windows.
    private const int WindowLength = 5;
    private const int Windows = 50;

    private readonly TempFolder _folder = new();
    private readonly string _directory;

    public TokenBatchSamplerTests()
    {
        var text = string.Concat(Enumerable.Range(0, 200).Select(i => (char)('a' + (i * 7 % 26))));
        _directory = _folder.Combine("ds");
        new TokenShardWriter(new ByteTokenizer(), shardTokens: 7).Write([_folder.WriteText("corpus.txt", text)], _directory);
    }

    public void Dispose() => _folder.Dispose();

    private static long[] Sample(TokenBatchSampler sampler, long step, int microStep)
    {
        var tokens = new long[sampler.MicroBatchTokens];
        sampler.Sample(step, microStep, tokens);
        return tokens;
    }

    [Fact]
    public void SeparatelyConstructedSamplers_ReadIdenticalTokens()
    {
        using var dataA = TokenDataset.Open(_directory);
        using var dataB = TokenDataset.Open(_directory);
        var a = new TokenBatchSampler(dataA, seed: 9, WindowLength, microBatchSize: 3, dataParallelRank: 1, dataParallelSize: 2, gradientAccumulation: 2);
        var b = new TokenBatchSampler(dataB, seed: 9, WindowLength, microBatchSize: 3, dataParallelRank: 1, dataParallelSize: 2, gradientAccumulation: 2);

        foreach (var (step, micro) in new[] { (0L, 0), (0L, 1), (5L, 1), (40L, 0) })
        {
            Assert.Equal(Sample(a, step, micro), Sample(b, step, micro));
        }
    }

    [Fact]
    public void ResumedSampler_ReadsWhatUninterruptedRunRead()
    {
        using var data = TokenDataset.Open(_directory);
        var uninterrupted = new TokenBatchSampler(data, 3, WindowLength, 4, 0, 1);
        var history = Enumerable.Range(0, 30).Select(step => Sample(uninterrupted, step, 0)).ToList();

        var resumed = new TokenBatchSampler(data, 3, WindowLength, 4, 0, 1);

        Assert.Equal(history[29], Sample(resumed, 29, 0));
        Assert.Equal(history[17], Sample(resumed, 17, 0));
    }

    [Fact]
    public void DifferentStepsAndSeeds_ReadDifferentTokens()
    {
        using var data = TokenDataset.Open(_directory);
        var sampler = new TokenBatchSampler(data, 1, WindowLength, 4, 0, 1);
        var otherSeed = new TokenBatchSampler(data, 2, WindowLength, 4, 0, 1);

        Assert.NotEqual(Sample(sampler, 0, 0), Sample(sampler, 1, 0));
        Assert.NotEqual(Sample(sampler, 0, 0), Sample(otherSeed, 0, 0));
    }

    [Fact]
    public void RanksWithinAStep_ReadDisjointWindows()
    {
        using var data = TokenDataset.Open(_directory);
        var ranks = Enumerable.Range(0, 4)
            .Select(rank => new TokenBatchSampler(data, 5, WindowLength, 3, rank, 4, gradientAccumulation: 2))
            .ToList();

        var windows = ranks
            .SelectMany(r => from micro in Enumerable.Range(0, 2) from row in Enumerable.Range(0, 3) select r.WindowIndex(2, micro, row))
            .ToList();

        Assert.Equal(24, windows.Count);
        Assert.Equal(windows.Count, windows.Distinct().Count());
    }

    [Fact]
    public void OneEpoch_UsesEveryWindowExactlyOnce_AndNextEpochReorders()
    {
        using var data = TokenDataset.Open(_directory);

        // 5 rows × 2 ranks = 10 windows per step, so steps 0..4 are exactly epoch 0.
        var ranks = Enumerable.Range(0, 2).Select(rank => new TokenBatchSampler(data, 11, WindowLength, 5, rank, 2)).ToList();
        List<long> Epoch(int firstStep) =>
            [.. from step in Enumerable.Range(firstStep, 5) from r in ranks from row in Enumerable.Range(0, 5) select r.WindowIndex(step, 0, row)];

        var first = Epoch(0);
        var second = Epoch(5);

        Assert.Equal(Enumerable.Range(0, Windows).Select(w => (long)w), first.Order());
        Assert.Equal(Enumerable.Range(0, Windows).Select(w => (long)w), second.Order());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Rows_AreCorpusWindowsSharingOneBoundaryToken()
    {
        using var data = TokenDataset.Open(_directory);
        var sampler = new TokenBatchSampler(data, 4, WindowLength, 6, 0, 1);
        var tokens = Sample(sampler, 3, 0);

        for (var row = 0; row < 6; row++)
        {
            var window = sampler.WindowIndex(3, 0, row);
            var expected = new long[WindowLength];
            data.ReadWindow(window * (WindowLength - 1), expected);
            Assert.Equal(expected, tokens.AsSpan(row * WindowLength, WindowLength).ToArray());
        }

        Assert.Equal(Windows, sampler.WindowCount);
    }

    [Fact]
    public void DatasetSmallerThanOneGlobalBatch_IsRejectedWithSizes()
    {
        using var data = TokenDataset.Open(_directory);

        var error = Assert.Throws<ArgumentException>(() => new TokenBatchSampler(data, 0, WindowLength, 13, 0, 4));

        Assert.Contains("too small", error.Message, StringComparison.Ordinal);
        Assert.Contains("52", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WindowShorterThanTwo_IsRejected()
    {
        using var data = TokenDataset.Open(_directory);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBatchSampler(data, 0, 1, 1, 0, 1));

        Assert.Contains("at least 2", error.Message, StringComparison.Ordinal);
    }
}
