using System.Text;

namespace Orchestrator.Kernels.Data;

/// <summary>
/// Tokenizes text as its UTF-8 bytes (ids 0..255) with one extra end-of-text id (256). It needs no
/// vocabulary file, so it suits tiny smoke-test models and any language.
/// </summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    /// <summary>The catalog name of this tokenizer.</summary>
    public const string CatalogName = "bytes";

    /// <summary>The marker that <see cref="Decode"/> writes for the end-of-text id.</summary>
    public const string EndOfTextMarker = "<|endoftext|>";

    /// <inheritdoc />
    public string Name => CatalogName;

    /// <inheritdoc />
    public int VocabSize => 257;

    /// <inheritdoc />
    public int EndOfText => 256;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var tokens = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            tokens[i] = bytes[i];
        }

        return tokens;
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> tokens)
    {
        var text = new StringBuilder(tokens.Length);
        var run = new List<byte>(tokens.Length);
        foreach (var token in tokens)
        {
            if (token == EndOfText)
            {
                // Flush the pending bytes first: a multi-byte character never spans a document end.
                text.Append(Encoding.UTF8.GetString([.. run]));
                run.Clear();
                text.Append(EndOfTextMarker);
            }
            else if ((uint)token <= byte.MaxValue)
            {
                run.Add((byte)token);
            }
            else
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"Token id {token} is outside the byte vocabulary [0, {VocabSize}).");
            }
        }

        text.Append(Encoding.UTF8.GetString([.. run]));
        return text.ToString();
    }
}
