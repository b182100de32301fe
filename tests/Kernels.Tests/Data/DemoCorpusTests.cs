using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tests.Data;

public sealed class DemoCorpusTests
{
    private static byte[] Concatenated(IEnumerable<string> files) => [.. files.SelectMany(File.ReadAllBytes)];

    [Fact]
    public void SameSeed_WritesIdenticalFiles()
    {
        using var folder = new TempFolder();

        var a = DemoCorpus.Write(folder.Combine("a"), 150_000, seed: 7);
        var b = DemoCorpus.Write(folder.Combine("b"), 150_000, seed: 7);

        Assert.Equal(a.Select(Path.GetFileName), b.Select(Path.GetFileName));
        Assert.Equal(Concatenated(a), Concatenated(b));
    }

    [Fact]
    public void DifferentSeeds_WriteDifferentText()
    {
        using var folder = new TempFolder();

        var a = DemoCorpus.Write(folder.Combine("a"), 20_000, seed: 1);
        var b = DemoCorpus.Write(folder.Combine("b"), 20_000, seed: 2);

        Assert.NotEqual(Concatenated(a), Concatenated(b));
    }

    [Fact]
    public void Corpus_IsAboutTheRequestedSizeWithCorrectArithmetic()
    {
        using var folder = new TempFolder();

        var files = DemoCorpus.Write(folder.Combine("c"), 200_000, seed: 3);
        var text = string.Concat(files.Select(File.ReadAllText));

        Assert.InRange(text.Length, 200_000, 201_000);
        Assert.True(files.Count >= 3);
        Assert.Contains(" plus ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("seven plus two is eight", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Corpus_TokenizesIntoADatasetThatSamples()
    {
        using var folder = new TempFolder();
        var files = DemoCorpus.Write(folder.Combine("text"), 100_000, seed: 5);

        new TokenShardWriter(new Gpt2Tokenizer(), shardTokens: 4096).Write(files, folder.Combine("ds"));
        using var data = TokenDataset.Open(folder.Combine("ds"), verifyHashes: true);
        var sampler = new TokenBatchSampler(data, 0, 65, 8, 0, 1);
        var tokens = new long[sampler.MicroBatchTokens];
        sampler.Sample(0, 0, tokens);

        Assert.True(data.Index.Shards.Count > 1);
        Assert.All(tokens, t => Assert.InRange(t, 0, data.VocabSize - 1));
    }
}
