using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Sequence packing: SFT examples, in an order drawn from the seed, laid greedily into rows of a fixed length (an
/// example that does not fit the rest of a row starts the next one; the rest is padding). A row of L tokens gives
/// L − 1 input positions; for each its example (the attention mask), its position in the example (RoPE restarts) and
/// whether its target — the next token — is a response token of the same example (the loss mask). Padding is an
/// example of its own with no loss, so no real token attends to it.
/// </summary>
public sealed class SftPacking
{
    private readonly IReadOnlyList<SftExample> _examples;
    private readonly List<(int Example, int Start)[]> _rows = [];

    /// <summary>Packs <paramref name="examples"/> (each at most <paramref name="rowLength"/> tokens) into rows, in the order of <paramref name="seed"/>.</summary>
    public SftPacking(IReadOnlyList<SftExample> examples, int rowLength, ulong seed, int padToken)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowLength, 2);
        (_examples, RowLength, PadToken) = (examples, rowLength, padToken);
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = SplitMix64.Split(seed, 0x5F7); // the packing order's own stream
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = (int)random.NextBelow((ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        var row = new List<(int, int)>();
        var used = 0;
        foreach (var index in order)
        {
            var length = examples[index].Tokens.Length;
            if (length > rowLength) throw new ArgumentException($"example {index} is {length} tokens, more than a row ({rowLength})", nameof(examples));
            if (used + length > rowLength) { _rows.Add([.. row]); row.Clear(); used = 0; }
            row.Add((index, used));
            used += length;
        }
        if (row.Count > 0) _rows.Add([.. row]);
    }

    /// <summary>Tokens per row (inputs plus the last target).</summary>
    public int RowLength { get; }

    /// <summary>The token padding a row's tail.</summary>
    public int PadToken { get; }

    /// <summary>How many rows the examples fill.</summary>
    public int Rows => _rows.Count;

    /// <summary>Which examples (by index) row <paramref name="row"/> holds, and where each starts.</summary>
    public IReadOnlyList<(int Example, int Start)> Contents(int row) => _rows[row];

    /// <summary>
    /// Writes row <paramref name="row"/>: <paramref name="tokens"/> (RowLength), and for the RowLength − 1 inputs
    /// <paramref name="lossMask"/> (1 where the target is a response token of the same example), <paramref name="documents"/>
    /// (the example's number in the row; padding numbered after the last) and <paramref name="positions"/>.
    /// </summary>
    public void Fill(int row, Span<long> tokens, Span<float> lossMask, Span<long> documents, Span<long> positions)
    {
        var inputs = RowLength - 1;
        if (tokens.Length != RowLength || lossMask.Length != inputs || documents.Length != inputs || positions.Length != inputs)
            throw new ArgumentException($"a row is {RowLength} tokens and {inputs} inputs");
        tokens.Fill(PadToken);
        lossMask.Clear();
        var contents = _rows[row];
        var end = 0;
        for (var d = 0; d < contents.Length; d++)
        {
            var (index, start) = contents[d];
            var example = _examples[index];
            for (var i = 0; i < example.Tokens.Length; i++)
            {
                var at = start + i;
                tokens[at] = example.Tokens[i];
                if (at >= inputs) continue;
                documents[at] = d;
                positions[at] = i;
                // Input i predicts token i + 1 of the same example; the loss counts it when that is a response token.
                if (i + 1 < example.Tokens.Length && i + 1 >= example.PromptLength) lossMask[at] = 1;
            }
            end = start + example.Tokens.Length;
        }
        for (var at = end; at < inputs; at++)
        {
            documents[at] = contents.Length;
            positions[at] = at - end;
        }
    }
}
