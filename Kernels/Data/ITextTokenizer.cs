namespace Orchestrator.Kernels.Data;

/// <summary>
/// Turns text into token ids and back. Implementations are deterministic and thread-safe, so a
/// dataset written today reads identically on every rank and every restart.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>The catalog name recorded in a dataset index ("gpt2", "bytes").</summary>
    string Name { get; }

    /// <summary>Number of distinct ids; every id is in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>The id appended after every document so the model learns where documents end.</summary>
    int EndOfText { get; }

    /// <summary>Encodes <paramref name="text"/> as plain text: special-token spellings are not interpreted.</summary>
    int[] Encode(string text);

    /// <summary>Decodes ids back to text; the end-of-text id decodes to its marker.</summary>
    string Decode(ReadOnlySpan<int> tokens);
}
