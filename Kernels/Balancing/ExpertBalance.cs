namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// Auxiliary-loss-free load balancing (DeepSeek-V3 §2.1.2): after each step every expert's
/// bias moves by γ towards balance, b_i += γ·sign(mean_load − load_i), using the load over
/// the whole (global) batch. The bias only steers the choice of experts, never the gates.
/// </summary>
public static class ExpertBalance
{
    /// <summary>Updates <paramref name="bias"/> in place from one step's <paramref name="loads"/>.</summary>
    public static void UpdateBias(Span<float> bias, ReadOnlySpan<long> loads, double gamma)
    {
        if (bias.Length != loads.Length)
            throw new ArgumentException($"bias has {bias.Length} experts but loads has {loads.Length}");
        if (gamma == 0 || loads.Length == 0) return;
        var mean = Mean(loads);
        for (var i = 0; i < bias.Length; i++)
        {
            // Compare in exact integer arithmetic: load_i·E against the total avoids rounding the mean.
            var sign = Math.Sign(mean.Total - loads[i] * (long)loads.Length);
            bias[i] = (float)(bias[i] + gamma * sign);
        }
    }

    /// <summary>MaxVio = max_i load_i / mean_load − 1 (0 when perfectly balanced; 0 for an empty batch).</summary>
    public static double MaxViolation(ReadOnlySpan<long> loads)
    {
        if (loads.Length == 0) return 0;
        var (total, _) = Mean(loads);
        if (total == 0) return 0;
        long max = 0;
        foreach (var l in loads) max = Math.Max(max, l);
        return (double)max * loads.Length / total - 1.0;
    }

    private static (long Total, double Mean) Mean(ReadOnlySpan<long> loads)
    {
        long total = 0;
        foreach (var l in loads) total += l;
        return (total, (double)total / loads.Length);
    }
}
