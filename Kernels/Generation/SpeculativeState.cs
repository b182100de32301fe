using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// What speculative decoding keeps between rounds: the main latent cache and one per MTP module, each row's committed
/// tokens (prompt, then every emitted token; the last is the pending one), cache lengths, MTP committed lengths, the
/// current drafts, and the hidden states by position of the main model and of MTP modules 1..D−1 (what the next
/// depth reads).
/// </summary>
internal sealed class SpeculativeState : IDisposable
{
    private readonly Tensor[] _hidden;

    public SpeculativeState(LatentDecoder decoder, IReadOnlyList<int[]> prompts, int maxNewTokens)
    {
        var rows = prompts.Count;
        var depth = decoder.MtpDepth;
        var capacity = prompts.Max(p => p.Length) + maxNewTokens + depth + 2;
        Cache = decoder.NewCache(rows, capacity);
        DraftCaches = Enumerable.Range(1, depth).Select(k => decoder.NewDraftCache(k, rows, capacity)).ToArray();
        _hidden = Enumerable.Range(0, depth)
            .Select(_ => zeros([rows, capacity, decoder.Config.Dim], ScalarType.Float32, decoder.Device).DetachFromDisposeScope()).ToArray();
        History = prompts.Select(p => p.Select(t => (long)t).ToList()).ToArray();
        Lengths = new long[rows];
        Committed = Enumerable.Range(0, depth).Select(_ => new long[rows]).ToArray();
        Drafts = Enumerable.Range(0, rows).Select(_ => new long[depth]).ToArray();
    }

    /// <summary>The main model's latent cache.</summary>
    public LatentKvCache Cache { get; }

    /// <summary>MTP module k's latent cache at index k − 1.</summary>
    public LatentKvCache[] DraftCaches { get; }

    /// <summary>Row r's tokens t_0..t_L: the prompt, then what was emitted (the last one pending, not yet in the main cache).</summary>
    public List<long>[] History { get; }

    /// <summary>Row r's main cache length L.</summary>
    public long[] Lengths { get; }

    /// <summary>MTP module k's committed length per row at index k − 1 (positions whose inputs are all committed tokens).</summary>
    public long[][] Committed { get; }

    /// <summary>Row r's drafts d_1..d_D for t_{L+1}..t_{L+D}.</summary>
    public long[][] Drafts { get; }

    /// <summary>Sets row <paramref name="row"/>'s main cache length.</summary>
    public void SetLength(int row, long length)
    {
        Lengths[row] = length;
        Cache.SetLength(row, length);
    }

    /// <summary>Sets MTP module <paramref name="depth"/>'s committed length of <paramref name="row"/> (at least 0).</summary>
    public void Commit(int depth, int row, long length)
    {
        Committed[depth - 1][row] = Math.Max(0, length);
        DraftCaches[depth - 1].SetLength(row, Committed[depth - 1][row]);
    }

    /// <summary>Keeps the main model's hidden states [rows, T, dim] at <paramref name="positions"/> [rows, T].</summary>
    public void KeepMainHidden(Tensor hidden, Tensor positions) => KeepHidden(0, hidden, positions);

    /// <summary>Keeps stack <paramref name="stack"/>'s hidden states (0: main, k: MTP module k) at <paramref name="positions"/>.</summary>
    public void KeepHidden(int stack, Tensor hidden, Tensor positions)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _hidden[stack].scatter_(1, positions.unsqueeze(-1).expand(hidden.shape), hidden);
    }

    /// <summary>Stack <paramref name="stack"/>'s hidden states at <paramref name="positions"/> [rows, T], [rows, T, dim].</summary>
    public Tensor HiddenAt(int stack, Tensor positions)
    {
        var store = _hidden[stack];
        return store.gather(1, positions.unsqueeze(-1).expand(positions.shape[0], positions.shape[1], store.shape[2]));
    }

    public void Dispose()
    {
        Cache.Dispose();
        foreach (var c in DraftCaches) c.Dispose();
        foreach (var h in _hidden) h.Dispose();
    }
}
