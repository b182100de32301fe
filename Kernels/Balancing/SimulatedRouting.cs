using System.Collections.Concurrent;

namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// The expert loads of a simulated step, for control-plane runs at scale without compute: each layer's experts
/// have a seeded Zipf-like popularity (exponent <c>skew</c>, a random order of experts per layer), and the
/// routing's response to the aux-loss-free bias is modelled as a share proportional to
/// popularity × exp(bias / <see cref="BiasTemperature"/>), so the real bias updates even the loads out over
/// steps as they do in training. Pure and deterministic: the same seed, step and biases give the same loads.
/// </summary>
public static class SimulatedRouting
{
    /// <summary>How strongly a bias moves the share of tokens: a bias of 0.02 multiplies it by e.</summary>
    public const double BiasTemperature = 0.02;

    // Popularity is a pure function of its inputs and every simulated rank of a process asks for the same layers every
    // step (58 layers × 256 experts of Fisher–Yates and pow per rank per step otherwise): computed once, shared.
    private static readonly ConcurrentDictionary<(ulong Seed, int Layer, int Experts, double Skew), double[]> Popularities = new();

    /// <summary>The step's loads of every MoE layer, summed over the job: <paramref name="tokens"/> tokens, each routed to <paramref name="topK"/> experts.</summary>
    /// <exception cref="ArgumentException">The biases do not cover <paramref name="experts"/> experts per layer.</exception>
    public static long[][] Loads(ulong seed, long step, long tokens, int topK, int experts, double skew, IReadOnlyList<float[]> biases)
    {
        ArgumentNullException.ThrowIfNull(biases);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(experts);
        var loads = new long[biases.Count][];
        for (var layer = 0; layer < biases.Count; layer++)
        {
            if (biases[layer].Length != experts)
                throw new ArgumentException($"layer {layer} has {biases[layer].Length} biases for {experts} experts", nameof(biases));
            loads[layer] = LayerLoads(seed, step, layer, tokens * topK, skew, biases[layer]);
        }

        return loads;
    }

    /// <summary>The popularity of each expert of <paramref name="layer"/> (before biases), summing to 1.</summary>
    public static double[] Popularity(ulong seed, int layer, int experts, double skew)
    {
        // A per-layer random order of the experts (Fisher–Yates on a counter-based stream), then Zipf weights.
        var order = Enumerable.Range(0, experts).ToArray();
        var state = Mix(seed ^ 0x5151_7e57_0000_0000UL ^ (ulong)layer);
        for (var i = experts - 1; i > 0; i--)
        {
            state = Mix(state);
            var j = (int)(state % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }

        var weights = new double[experts];
        for (var rank = 0; rank < experts; rank++) weights[order[rank]] = 1 / Math.Pow(rank + 1, skew);
        var sum = weights.Sum();
        return [.. weights.Select(w => w / sum)];
    }

    private static long[] LayerLoads(ulong seed, long step, int layer, long assignments, double skew, float[] bias)
    {
        var popularity = Popularities.GetOrAdd((seed, layer, bias.Length, skew), k => Popularity(k.Seed, k.Layer, k.Experts, k.Skew));
        var shares = new double[bias.Length];
        for (var e = 0; e < shares.Length; e++) shares[e] = popularity[e] * Math.Exp(bias[e] / BiasTemperature);
        var total = shares.Sum();
        var loads = new long[bias.Length];
        var noise = Mix(seed ^ ((ulong)step * 0x9E37_79B9_7F4A_7C15UL) ^ ((ulong)layer << 48));
        for (var e = 0; e < loads.Length; e++)
        {
            noise = Mix(noise);
            var jitter = 1 + 0.04 * ((noise >> 11) * (1.0 / (1UL << 53)) - 0.5); // ±2 %: steps differ, as batches do
            loads[e] = (long)Math.Round(assignments * shares[e] / total * jitter);
        }

        return loads;
    }

    private static ulong Mix(ulong x) // splitmix64
    {
        x += 0x9E37_79B9_7F4A_7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return x ^ (x >> 31);
    }
}
