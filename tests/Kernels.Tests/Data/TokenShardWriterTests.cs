using System.Text;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tests.Data;

public sealed class TokenShardWriterTests
{
    [Fact]
    public void WriteThenOpen_ReadsEveryTokenBackAcrossShardBoundaries()
    {
        using var folder = new TempFolder();
        var tokenizer = new ByteTokenizer();
        var first = folder.WriteText("a.txt", "hello");
        var second = folder.WriteText("b.txt", "wörld!");
        int[] expected = [.. tokenizer.Encode("hello"), 256, .. tokenizer.Encode("wörld!"), 256];

        var index = new TokenShardWriter(tokenizer, shardTokens: 4).Write([first, second], folder.Combine("ds"));
        using var data = TokenDataset.Open(folder.Combine("ds"), verifyHashes: true);

        Assert.Equal(expected.Length, data.TotalTokens);
        Assert.Equal((expected.Length + 3) / 4, index.Shards.Count);
        Assert.All(index.Shards.SkipLast(1), s => Assert.Equal(4, s.TokenCount));
        var all = new long[expected.Length];
        data.ReadWindow(0, all);
        Assert.Equal(expected.Select(t => (long)t), all);

        // A window starting mid-shard and spanning three shards.
        var window = new long[9];
        data.ReadWindow(3, window);
        Assert.Equal(expected.Skip(3).Take(9).Select(t => (long)t), window);
    }

    [Fact]
    public void Index_RecordsTokenizerVocabularyAndNarrowDType()
    {
        using var folder = new TempFolder();
        var input = folder.WriteText("a.txt", "Hello world");

        new TokenShardWriter(new Gpt2Tokenizer()).Write([input], folder.Combine("ds"));
        using var data = TokenDataset.Open(folder.Combine("ds"));

        Assert.Equal("gpt2", data.TokenizerName);
        Assert.Equal(50257, data.VocabSize);
        Assert.Equal(TokenDType.UInt16, data.Index.TokenDType);
        var tokens = new long[3];
        data.ReadWindow(0, tokens);
        Assert.Equal([15496L, 995L, 50256L], tokens);
        Assert.Equal(6, new FileInfo(folder.Combine("ds/shard-00000.bin")).Length);
    }

    [Fact]
    public void Index_IsJsonWithSnakeCaseFields()
    {
        using var folder = new TempFolder();
        var input = folder.WriteText("a.txt", "abc");

        new TokenShardWriter(new ByteTokenizer()).Write([input], folder.Combine("ds"));
        var json = File.ReadAllText(folder.Combine("ds/index.json"));

        Assert.Contains("\"format_version\": 1", json, StringComparison.Ordinal);
        Assert.Contains("\"token_dtype\": \"uint16\"", json, StringComparison.Ordinal);
        Assert.Contains("\"sha256\"", json, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Combine("ds"), "*.partial"));
    }

    [Fact]
    public void Write_RejectsNonUtf8InputNamingFileAndOffset()
    {
        using var folder = new TempFolder();
        var bad = folder.Combine("latin1.txt");
        File.WriteAllBytes(bad, [.. Encoding.ASCII.GetBytes("caf"), 0xE9, (byte)'!']);

        var error = Assert.Throws<InvalidDataException>(
            () => new TokenShardWriter(new ByteTokenizer()).Write([bad], folder.Combine("ds")));

        Assert.Contains("latin1.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("offset 3", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(folder.Combine("ds/index.json")));
        Assert.Empty(Directory.GetFiles(folder.Combine("ds")));
    }

    [Fact]
    public void Write_RejectsMissingInputNamingIt()
    {
        using var folder = new TempFolder();

        var error = Assert.Throws<FileNotFoundException>(
            () => new TokenShardWriter(new ByteTokenizer()).Write([folder.Combine("nope.txt")], folder.Combine("ds")));

        Assert.Contains("nope.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_RejectsEmptyCorpus()
    {
        using var folder = new TempFolder();
        var empty = folder.WriteText("empty.txt", "");

        var error = Assert.Throws<InvalidDataException>(
            () => new TokenShardWriter(new ByteTokenizer()).Write([empty], folder.Combine("ds")));

        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_RefusesExistingDatasetUnlessOverwrite()
    {
        using var folder = new TempFolder();
        var writer = new TokenShardWriter(new ByteTokenizer(), shardTokens: 2);
        writer.Write([folder.WriteText("a.txt", "long first corpus")], folder.Combine("ds"));

        var error = Assert.Throws<IOException>(() => writer.Write([folder.WriteText("b.txt", "xy")], folder.Combine("ds")));
        Assert.Contains("already holds a dataset", error.Message, StringComparison.Ordinal);

        writer.Write([folder.Combine("b.txt")], folder.Combine("ds"), overwrite: true);
        using var data = TokenDataset.Open(folder.Combine("ds"), verifyHashes: true);
        Assert.Equal(3, data.TotalTokens);

        // Shards of the replaced dataset are gone, not left beside the new one.
        Assert.Equal(2, Directory.GetFiles(folder.Combine("ds"), "shard-*").Length);
    }

    [Fact]
    public void LargeVocabulary_StoresFourByteTokensAndReadsThemBack()
    {
        using var folder = new TempFolder();
        var input = folder.WriteText("a.txt", "abc");

        var index = new TokenShardWriter(new WideTokenizer(), shardTokens: 3).Write([input], folder.Combine("ds"));
        using var data = TokenDataset.Open(folder.Combine("ds"), verifyHashes: true);
        var tokens = new long[4];
        data.ReadWindow(0, tokens);

        Assert.Equal(TokenDType.UInt32, index.TokenDType);
        Assert.Equal([69_997L, 69_998L, 69_999L, 99_999L], tokens);
        Assert.Equal(12, new FileInfo(folder.Combine("ds/shard-00000.bin")).Length);
    }

    /// <summary>Maps 'a'.. to ids near 70000, beyond what two bytes hold.</summary>
    private sealed class WideTokenizer : ITextTokenizer
    {
        public string Name => "wide";

        public int VocabSize => 100_000;

        public int EndOfText => 99_999;

        public int[] Encode(string text) => [.. text.Select(c => 69_997 + (c - 'a'))];

        public string Decode(ReadOnlySpan<int> tokens) => throw new NotSupportedException();
    }
}
