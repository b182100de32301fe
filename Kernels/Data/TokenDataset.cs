using System.Security.Cryptography;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// A tokenized dataset folder opened for reading: the validated index plus memory-mapped shards,
/// read as one contiguous token stream. Reads are thread-safe; dispose to unmap the shards.
/// </summary>
public sealed class TokenDataset : IDisposable
{
    private readonly MappedShard[] _shards;

    // _shardStarts[i] is the global position of shard i's first token; one extra entry holds the total.
    private readonly long[] _shardStarts;

    private TokenDataset(DatasetIndex index, MappedShard[] shards)
    {
        Index = index;
        _shards = shards;
        _shardStarts = new long[shards.Length + 1];
        for (var i = 0; i < shards.Length; i++)
        {
            _shardStarts[i + 1] = _shardStarts[i] + shards[i].TokenCount;
        }
    }

    /// <summary>The index the dataset was opened from.</summary>
    public DatasetIndex Index { get; }

    /// <summary>Tokens in the whole dataset.</summary>
    public long TotalTokens => Index.TotalTokens;

    /// <summary>Vocabulary size of the tokenizer that wrote it.</summary>
    public int VocabSize => Index.VocabSize;

    /// <summary>Catalog name of the tokenizer that wrote it.</summary>
    public string TokenizerName => Index.Tokenizer;

    /// <summary>
    /// Opens the dataset in <paramref name="directory"/>. Shard sizes are always checked against the
    /// index; hashing reads every byte, so it is optional.
    /// </summary>
    /// <exception cref="FileNotFoundException">The index or a shard is missing.</exception>
    /// <exception cref="InvalidDataException">The index is malformed or a shard does not match it.</exception>
    public static TokenDataset Open(string directory, bool verifyHashes = false)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var indexPath = Path.Combine(directory, DatasetIndex.FileName);
        if (!File.Exists(indexPath))
        {
            throw new FileNotFoundException($"'{directory}' is not a dataset: it has no {DatasetIndex.FileName}.", indexPath);
        }

        var index = DatasetIndex.FromJson(File.ReadAllText(indexPath), indexPath);
        DatasetIndexValidator.Validate(index, indexPath);

        var shards = new List<MappedShard>(index.Shards.Count);
        try
        {
            foreach (var entry in index.Shards)
            {
                var path = Path.Combine(directory, entry.FileName);
                CheckShardFile(path, entry, index.TokenDType, verifyHashes);
                shards.Add(new MappedShard(path, entry.TokenCount, index.TokenDType));
            }
        }
        catch
        {
            shards.ForEach(s => s.Dispose());
            throw;
        }

        return new TokenDataset(index, [.. shards]);
    }

    /// <summary>
    /// Copies tokens [start, start + destination.Length) into <paramref name="destination"/>,
    /// crossing shard boundaries as needed.
    /// </summary>
    public void ReadWindow(long start, Span<long> destination)
    {
        if (start < 0 || start > TotalTokens - destination.Length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(start), start, $"Window [{start}, {start + destination.Length}) lies outside the dataset's {TotalTokens} tokens.");
        }

        var shard = Array.BinarySearch(_shardStarts, start);
        shard = shard >= 0 ? shard : ~shard - 1;
        while (!destination.IsEmpty)
        {
            var offset = start - _shardStarts[shard];
            var take = (int)Math.Min(destination.Length, _shards[shard].TokenCount - offset);
            _shards[shard].Read(offset, destination[..take]);
            destination = destination[take..];
            start += take;
            shard++;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
    }

    private static void CheckShardFile(string path, ShardEntry entry, TokenDType dtype, bool verifyHash)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Shard '{entry.FileName}' listed in the index is missing.", path);
        }

        var expectedBytes = entry.TokenCount * dtype.ByteWidth();
        var actualBytes = new FileInfo(path).Length;
        if (actualBytes != expectedBytes)
        {
            throw new InvalidDataException(
                $"Shard '{entry.FileName}' is {actualBytes} bytes but the index says {entry.TokenCount} {dtype} tokens ({expectedBytes} bytes).");
        }

        if (verifyHash)
        {
            using var stream = File.OpenRead(path);
            var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (!string.Equals(actual, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException(
                    $"Shard '{entry.FileName}' is corrupt: SHA-256 {actual} does not match the index's {entry.Sha256}.");
            }
        }
    }
}
