using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// Chooses a token from one row of logits on the host: greedy at temperature 0, else temperature and top-p over a
/// SplitMix64 stream, so the same seed gives the same tokens on every device and runtime. Tokens are ranked by
/// logit, ties to the lower id, so top-p small enough to keep one token is exactly greedy.
/// </summary>
public static class TokenSampler
{
    /// <summary>The token for <paramref name="logits"/> under <paramref name="options"/>; one draw from <paramref name="stream"/> unless greedy.</summary>
    public static int Choose(ReadOnlySpan<float> logits, GenerationOptions options, ref SplitMix64 stream)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Temperature == 0) return Greedy(logits);
        var order = new int[logits.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var copy = logits.ToArray();
        Array.Sort(order, (a, b) => copy[a] != copy[b] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));

        var max = (double)copy[order[0]];
        var weights = new double[order.Length];
        var total = 0.0;
        for (var i = 0; i < order.Length; i++) total += weights[i] = Math.Exp((copy[order[i]] - max) / options.Temperature);
        var kept = 0;
        var mass = 0.0;
        while (kept < order.Length)
        {
            mass += weights[kept++];
            if (mass >= options.TopP * total) break;
        }
        var u = (stream.NextUInt64() >> 11) * (1.0 / (1UL << 53)) * mass;
        var running = 0.0;
        for (var i = 0; i < kept; i++)
        {
            running += weights[i];
            if (u < running) return order[i];
        }
        return order[kept - 1];
    }

    /// <summary>The first highest logit.</summary>
    public static int Greedy(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}
