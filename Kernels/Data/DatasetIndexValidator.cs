using System.Diagnostics.CodeAnalysis;

namespace Orchestrator.Kernels.Data;

/// <summary>Checks that an index is internally consistent before any shard is opened.</summary>
internal static class DatasetIndexValidator
{
    public static void Validate(DatasetIndex index, string source)
    {
        if (index.FormatVersion != DatasetIndex.CurrentFormatVersion)
        {
            Fail(source, $"format version {index.FormatVersion} is not supported (expected {DatasetIndex.CurrentFormatVersion})");
        }

        if (string.IsNullOrWhiteSpace(index.Tokenizer))
        {
            Fail(source, "it names no tokenizer");
        }

        if (index.VocabSize <= 0)
        {
            Fail(source, $"vocabulary size {index.VocabSize} is not positive");
        }

        if (index.TokenDType.ByteWidth() < TokenDTypeExtensions.ForVocabulary(index.VocabSize).ByteWidth())
        {
            Fail(source, $"dtype {index.TokenDType} cannot hold a vocabulary of {index.VocabSize}");
        }

        if (index.Shards is null || index.Shards.Count == 0)
        {
            Fail(source, "it lists no shards");
        }

        long sum = 0;
        foreach (var shard in index.Shards)
        {
            if (shard is null || string.IsNullOrWhiteSpace(shard.FileName) || shard.TokenCount <= 0)
            {
                Fail(source, "a shard entry has no file name or a non-positive token count");
            }

            // A shard name is a plain file name: an index must not reach outside its folder.
            if (Path.GetFileName(shard.FileName) != shard.FileName)
            {
                Fail(source, $"shard name '{shard.FileName}' is not a plain file name");
            }

            sum += shard.TokenCount;
        }

        if (sum != index.TotalTokens)
        {
            Fail(source, $"total_tokens is {index.TotalTokens} but the shards hold {sum}");
        }
    }

    [DoesNotReturn]
    private static void Fail(string source, string problem) =>
        throw new InvalidDataException($"Dataset index '{source}' is invalid: {problem}.");
}
