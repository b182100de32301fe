using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Tests.Data;

public sealed class TokenDatasetTests
{
    private static string WriteDataset(TempFolder folder, string text = "0123456789abcdef", long shardTokens = 5)
    {
        var input = folder.WriteText("corpus.txt", text);
        var directory = folder.Combine("ds");
        new TokenShardWriter(new ByteTokenizer(), shardTokens).Write([input], directory);
        return directory;
    }

    [Fact]
    public void Open_WithHashCheck_NamesShardWhoseByteFlipped()
    {
        using var folder = new TempFolder();
        var directory = WriteDataset(folder);
        var shard = Path.Combine(directory, "shard-00001.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[3] ^= 0x01;
        File.WriteAllBytes(shard, bytes);

        var error = Assert.Throws<InvalidDataException>(() => TokenDataset.Open(directory, verifyHashes: true));

        Assert.Contains("shard-00001.bin", error.Message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_WithoutHashCheck_AcceptsSameSizeFile()
    {
        using var folder = new TempFolder();
        var directory = WriteDataset(folder);
        var shard = Path.Combine(directory, "shard-00001.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[0] ^= 0x01;
        File.WriteAllBytes(shard, bytes);

        using var data = TokenDataset.Open(directory);

        Assert.Equal(17, data.TotalTokens);
    }

    [Fact]
    public void Open_NamesShardWhoseLengthDisagreesWithIndex()
    {
        using var folder = new TempFolder();
        var directory = WriteDataset(folder);
        File.AppendAllText(Path.Combine(directory, "shard-00002.bin"), "x");

        var error = Assert.Throws<InvalidDataException>(() => TokenDataset.Open(directory));

        Assert.Contains("shard-00002.bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NamesMissingShard()
    {
        using var folder = new TempFolder();
        var directory = WriteDataset(folder);
        File.Delete(Path.Combine(directory, "shard-00000.bin"));

        var error = Assert.Throws<FileNotFoundException>(() => TokenDataset.Open(directory));

        Assert.Contains("shard-00000.bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_RejectsUnknownFormatVersion()
    {
        using var folder = new TempFolder();
        var directory = WriteDataset(folder);
        var indexPath = Path.Combine(directory, "index.json");
        File.WriteAllText(indexPath, File.ReadAllText(indexPath).Replace("\"format_version\": 1", "\"format_version\": 99", StringComparison.Ordinal));

        var error = Assert.Throws<InvalidDataException>(() => TokenDataset.Open(directory));

        Assert.Contains("format version 99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_RejectsFolderWithoutIndex()
    {
        using var folder = new TempFolder();

        var error = Assert.Throws<FileNotFoundException>(() => TokenDataset.Open(folder.Path));

        Assert.Contains("index.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadWindow_RejectsWindowPastTheEnd()
    {
        using var folder = new TempFolder();
        using var data = TokenDataset.Open(WriteDataset(folder));

        Assert.Throws<ArgumentOutOfRangeException>(() => data.ReadWindow(10, new long[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.ReadWindow(-1, new long[1]));
    }
}
