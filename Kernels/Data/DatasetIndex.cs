using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// The contents of a dataset's <c>index.json</c>: which tokenizer made the shards, how tokens are
/// stored, and each shard's size and hash.
/// </summary>
/// <param name="FormatVersion">Layout version; readers refuse versions they do not know.</param>
/// <param name="Tokenizer">Catalog name of the tokenizer (see <see cref="TokenizerCatalog"/>).</param>
/// <param name="VocabSize">Vocabulary size of that tokenizer.</param>
/// <param name="TokenDType">On-disk token width.</param>
/// <param name="TotalTokens">Sum of the shards' token counts.</param>
/// <param name="Shards">Shards in reading order.</param>
public sealed record DatasetIndex(
    int FormatVersion,
    string Tokenizer,
    int VocabSize,
    [property: JsonPropertyName("token_dtype")] TokenDType TokenDType,
    long TotalTokens,
    IReadOnlyList<ShardEntry> Shards)
{
    /// <summary>The layout version this code writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The index file's name inside a dataset folder.</summary>
    public const string FileName = "index.json";

    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Serializes the index as indented JSON with snake_case names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, _json);

    /// <summary>Parses an index; <paramref name="source"/> names the file in error messages.</summary>
    /// <exception cref="InvalidDataException">The text is not a well-formed index.</exception>
    public static DatasetIndex FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<DatasetIndex>(json, _json)
                ?? throw new InvalidDataException($"Dataset index '{source}' is empty (null).");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Dataset index '{source}' is not valid JSON: {e.Message}", e);
        }
    }
}
