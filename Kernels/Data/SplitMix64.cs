namespace Orchestrator.Kernels.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter advanced by the golden-ratio constant
/// and passed through a bijective finalizer. It is written out here rather than taken from
/// <see cref="System.Random"/> because a data order must never change with a runtime upgrade.
/// Streams are split by hashing a key into a fresh seed (<see cref="Split"/>), so (seed, epoch)
/// gives an independent, reproducible stream with no shared state.
/// </summary>
/// <param name="seed">Initial state; any value is fine, including zero.</param>
public struct SplitMix64(ulong seed)
{
    private const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;

    private ulong _state = seed;

    /// <summary>The SplitMix64 finalizer: a bijection on 64-bit values that scrambles every bit.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A generator for sub-stream <paramref name="key"/> of <paramref name="seed"/>, independent of other keys.</summary>
    public static SplitMix64 Split(ulong seed, ulong key) => new(Mix(seed ^ Mix(key + GoldenGamma)));

    /// <summary>Returns the next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += GoldenGamma;
        return Mix(_state);
    }

    /// <summary>Returns a uniform value in [0, <paramref name="bound"/>), without modulo bias.</summary>
    public ulong NextBelow(ulong bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);

        // Lemire's multiply-shift: take the high word of x * bound and reject the few low words that
        // would make some results more likely than others.
        var threshold = (0UL - bound) % bound;
        while (true)
        {
            var high = Math.BigMul(NextUInt64(), bound, out var low);
            if (low >= threshold)
            {
                return high;
            }
        }
    }
}
