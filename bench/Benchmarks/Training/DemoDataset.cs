using Orchestrator.Kernels.Data;

namespace Orchestrator.Benchmarks.Training;

/// <summary>
/// The demo corpus tokenized with the bytes tokenizer into a temporary folder, so a benchmark
/// needs no download and leaves nothing behind. Dispose to unmap the shards and delete the folder.
/// </summary>
internal sealed class DemoDataset : IDisposable
{
    private readonly string _directory;

    private DemoDataset(string directory, TokenDataset dataset)
    {
        _directory = directory;
        Dataset = dataset;
    }

    public TokenDataset Dataset { get; }

    /// <summary>Writes the corpus (fixed seed, so every run trains on the same bytes) and tokenizes it.</summary>
    public static DemoDataset Create(int approximateBytes = DemoCorpus.DefaultBytes)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"orchestrator-bench-{Guid.NewGuid():N}");
        var text = Path.Combine(directory, "text");
        var tokens = Path.Combine(directory, "tokens");
        var files = DemoCorpus.Write(text, approximateBytes, seed: 0);
        new TokenShardWriter(TokenizerCatalog.Create(ByteTokenizer.CatalogName)).Write(files, tokens);
        return new DemoDataset(directory, TokenDataset.Open(tokens));
    }

    public void Dispose()
    {
        Dataset.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
