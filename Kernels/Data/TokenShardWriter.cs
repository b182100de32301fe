using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// Tokenizes UTF-8 text files into a dataset folder: fixed-size little-endian shards plus
/// <c>index.json</c>. Each input file is one document and is followed by the end-of-text id.
/// </summary>
/// <param name="tokenizer">Tokenizer whose ids are stored; its name goes into the index.</param>
/// <param name="shardTokens">Tokens per shard; only the last shard may be shorter.</param>
public sealed class TokenShardWriter(ITextTokenizer tokenizer, long shardTokens = TokenShardWriter.DefaultShardTokens)
{
    /// <summary>Default shard size: 16 Mi tokens (32 MiB at two bytes per token).</summary>
    public const long DefaultShardTokens = 16L << 20;

    private readonly ITextTokenizer _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
    private readonly long _shardTokens = shardTokens > 0
        ? shardTokens
        : throw new ArgumentOutOfRangeException(nameof(shardTokens), shardTokens, "Shard size must be positive.");

    /// <summary>
    /// Writes the dataset and returns its index. Empty files are skipped (an empty document teaches
    /// nothing). The index is renamed into place last, so a folder without <c>index.json</c> never
    /// passes for a dataset.
    /// </summary>
    /// <exception cref="FileNotFoundException">An input file does not exist.</exception>
    /// <exception cref="InvalidDataException">An input is not UTF-8, or the corpus holds no text.</exception>
    /// <exception cref="IOException">The folder already holds a dataset and <paramref name="overwrite"/> is false.</exception>
    public DatasetIndex Write(IReadOnlyList<string> inputFiles, string outputDirectory, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(inputFiles);
        ArgumentNullException.ThrowIfNull(outputDirectory);

        // Check every input before touching the output, so a typo costs nothing.
        foreach (var file in inputFiles)
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"Input file '{file}' does not exist.", file);
            }
        }

        PrepareOutput(outputDirectory, overwrite);
        var dtype = TokenDTypeExtensions.ForVocabulary(_tokenizer.VocabSize);
        using var sink = new ShardSink(outputDirectory, dtype, _shardTokens);
        try
        {
            foreach (var file in inputFiles)
            {
                var text = ReadUtf8(file);
                if (text.Length == 0)
                {
                    continue;
                }

                var tokens = _tokenizer.Encode(text);
                sink.Append(tokens);
                sink.Append([_tokenizer.EndOfText]);
            }

            sink.Flush();
            if (sink.Completed.Count == 0)
            {
                throw new InvalidDataException(
                    $"The corpus is empty: the {inputFiles.Count} input file(s) hold no text.");
            }

            var index = new DatasetIndex(
                DatasetIndex.CurrentFormatVersion,
                _tokenizer.Name,
                _tokenizer.VocabSize,
                dtype,
                sink.Completed.Sum(s => s.TokenCount),
                [.. sink.Completed]);
            var indexPath = Path.Combine(outputDirectory, DatasetIndex.FileName);
            WriteDurably(indexPath + ShardSink.PartialSuffix, index.ToJson());
            File.Move(indexPath + ShardSink.PartialSuffix, indexPath, overwrite: true);
            return index;
        }
        catch
        {
            sink.Dispose();
            RemoveShardFiles(outputDirectory);
            throw;
        }
    }

    private static void PrepareOutput(string directory, bool overwrite)
    {
        Directory.CreateDirectory(directory);
        var indexPath = Path.Combine(directory, DatasetIndex.FileName);
        if (File.Exists(indexPath))
        {
            if (!overwrite)
            {
                throw new IOException(
                    $"Output folder '{directory}' already holds a dataset ({DatasetIndex.FileName}); pass overwrite to replace it.");
            }

            // Remove the index first: from here on the folder is not a dataset, whatever else survives.
            File.Delete(indexPath);
        }

        // Shard files without an index are leftovers of an interrupted run; they describe nothing.
        RemoveShardFiles(directory);
    }

    private static void RemoveShardFiles(string directory)
    {
        foreach (var stale in Directory.EnumerateFiles(directory, "shard-*.bin*"))
        {
            File.Delete(stale);
        }

        File.Delete(Path.Combine(directory, DatasetIndex.FileName + ShardSink.PartialSuffix));
    }

    private static void WriteDurably(string path, string text)
    {
        // Flushed to disk before the rename, so the index never names shards that a crash could lose.
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        stream.Write(Encoding.UTF8.GetBytes(text));
        stream.Flush(flushToDisk: true);
    }

    private static string ReadUtf8(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var body = bytes.AsSpan();
        var offset = 0;
        if (body.StartsWith(Encoding.UTF8.Preamble))
        {
            // A byte-order mark is encoding metadata, not text.
            offset = Encoding.UTF8.Preamble.Length;
            body = body[offset..];
        }

        var chars = ArrayPool<char>.Shared.Rent(Math.Max(body.Length, 1));
        try
        {
            var status = Utf8.ToUtf16(body, chars, out var read, out var written, replaceInvalidSequences: false);
            if (status != System.Buffers.OperationStatus.Done)
            {
                throw new InvalidDataException(
                    $"Input file '{path}' is not valid UTF-8: invalid byte sequence at byte offset {offset + read}.");
            }

            return new string(chars, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}
