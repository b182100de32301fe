using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Seeds every weight matrix from (seed, parameter name) alone: N(0, std²) for matrices, ones for
/// norm gains. The samples are drawn here (SplitMix64 + Box–Muller) rather than by libtorch, so
/// they are the same bits on every device and libtorch version. No global generator is touched, so models built concurrently in one process do
/// not disturb each other, and any subset of a model (one expert shard, say) can be initialised
/// exactly as the whole model would initialise it.
/// </summary>
public static class ParameterInit
{
    /// <summary>Initialises all parameters of <paramref name="module"/>; names are relative to it.</summary>
    public static void Initialize(nn.Module module, ulong seed, double std, string prefix = "")
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (parameter.dim() < 2)
            {
                parameter.fill_(Scalars.Of(1.0));
                continue;
            }
            var values = Normal(SeedFor(seed, prefix + name), checked((int)parameter.numel()), std);
            using var source = tensor(values, parameter.shape, device: CPU);
            parameter.copy_(source);
        }
    }

    /// <summary>Box–Muller normal samples from a SplitMix64 stream.</summary>
    public static float[] Normal(ulong seed, int count, double std)
    {
        var values = new float[count];
        var state = seed;
        for (var i = 0; i < count; i += 2)
        {
            // 53-bit uniforms in (0, 1]: never 0, so the logarithm is finite.
            var u1 = ((Next(ref state) >> 11) + 1) * (1.0 / (1UL << 53));
            var u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            var radius = Math.Sqrt(-2.0 * Math.Log(u1)) * std;
            values[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) values[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
        return values;
    }

    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The generator seed of one parameter: a SplitMix64 finaliser over seed ⊕ FNV-1a(name).</summary>
    public static ulong SeedFor(ulong seed, string name)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in name)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        var z = seed ^ hash;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (z ^ (z >> 31)) & long.MaxValue; // libtorch seeds are signed 64-bit
    }
}
