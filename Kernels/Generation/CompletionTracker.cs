using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Generation;

/// <summary>One row's new tokens and whether it has ended (length, end-of-text, or a stop string in its text).</summary>
internal sealed class CompletionTracker(int maxNewTokens, ITextTokenizer? tokenizer, IReadOnlyList<string> stops)
{
    private readonly List<int> _tokens = [];

    public bool Done => Finish is not null;

    public int MaxNewTokens => maxNewTokens;

    public FinishReason? Finish { get; private set; }

    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Adds a token unless the row has ended; returns whether it was taken.</summary>
    public bool Add(int token)
    {
        if (Done) return false;
        _tokens.Add(token);
        if (tokenizer is not null && token == tokenizer.EndOfText) Finish = FinishReason.EndOfText;
        else if (stops.Count > 0 && StopAt(Decode()) >= 0) Finish = FinishReason.Stop;
        else if (_tokens.Count >= maxNewTokens) Finish = FinishReason.Length;
        return true;
    }

    public Completion ToCompletion()
    {
        if (tokenizer is null) return new Completion(_tokens.ToArray(), null, Finish ?? FinishReason.Length);
        var text = Decode();
        var cut = StopAt(text);
        return new Completion(_tokens.ToArray(), cut >= 0 ? text[..cut] : text, Finish ?? FinishReason.Length);
    }

    private string Decode()
    {
        var count = Finish == FinishReason.EndOfText ? _tokens.Count - 1 : _tokens.Count;
        return tokenizer!.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens)[..count]);
    }

    private int StopAt(string text)
    {
        var first = -1;
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }
}
