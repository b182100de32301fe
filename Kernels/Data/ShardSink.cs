using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// Streams tokens into fixed-size shard files. Each shard is written under a temporary name and
/// renamed only once complete and hashed, so a crash never leaves a truncated file under a final name.
/// </summary>
internal sealed class ShardSink(string directory, TokenDType dtype, long shardTokens) : IDisposable
{
    internal const string PartialSuffix = ".partial";
    private const int ChunkTokens = 1 << 16;

    private readonly List<ShardEntry> _completed = [];
    private readonly byte[] _chunk = new byte[ChunkTokens * dtype.ByteWidth()];
    private FileStream? _stream;
    private IncrementalHash? _hash;
    private long _tokensInShard;

    /// <summary>Shards finished so far, in order.</summary>
    public IReadOnlyList<ShardEntry> Completed => _completed;

    /// <summary>Shard file name for position <paramref name="index"/>; zero-padded so names sort in order.</summary>
    public static string ShardFileName(int index) => $"shard-{index:D5}.bin";

    public void Append(ReadOnlySpan<int> tokens)
    {
        while (!tokens.IsEmpty)
        {
            if (_stream is null)
            {
                Open();
            }

            var room = shardTokens - _tokensInShard;
            var take = (int)Math.Min(Math.Min(room, tokens.Length), ChunkTokens);
            WriteChunk(tokens[..take]);
            tokens = tokens[take..];
            if (_tokensInShard == shardTokens)
            {
                Close();
            }
        }
    }

    /// <summary>Finishes the last, possibly short, shard.</summary>
    public void Flush()
    {
        if (_stream is not null)
        {
            Close();
        }
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _hash?.Dispose();
    }

    private void Open()
    {
        var path = Path.Combine(directory, ShardFileName(_completed.Count) + PartialSuffix);
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _tokensInShard = 0;
    }

    private void WriteChunk(ReadOnlySpan<int> tokens)
    {
        var width = dtype.ByteWidth();
        var bytes = _chunk.AsSpan(0, tokens.Length * width);
        for (var i = 0; i < tokens.Length; i++)
        {
            if (dtype == TokenDType.UInt16)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes[(2 * i)..], checked((ushort)tokens[i]));
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes[(4 * i)..], checked((uint)tokens[i]));
            }
        }

        _stream!.Write(bytes);
        _hash!.AppendData(bytes);
        _tokensInShard += tokens.Length;
    }

    private void Close()
    {
        var name = ShardFileName(_completed.Count);
        _stream!.Flush(flushToDisk: true);
        _stream.Dispose();
        _stream = null;
        var sha = Convert.ToHexStringLower(_hash!.GetHashAndReset());
        _hash.Dispose();
        _hash = null;
        var final = Path.Combine(directory, name);
        File.Move(final + PartialSuffix, final, overwrite: true);
        _completed.Add(new ShardEntry(name, _tokensInShard, sha));
    }
}
