using Orchestrator.Kernels.Balancing;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// One rank asks the real authority (the job's load balancer) and every rank receives its answer:
/// an all-reduce in which the other ranks contribute zeros, exact in float32 (x + 0 = x).
/// </summary>
/// <param name="world">All ranks of the job.</param>
/// <param name="root">The authority, on world rank 0 only; null on the other ranks.</param>
public sealed class BroadcastBiasAuthority(ICollective world, IExpertBiasAuthority? root) : IExpertBiasAuthority
{
    /// <inheritdoc />
    public float[][] Update(long step, IReadOnlyList<long[]> loads, double gamma, IReadOnlyList<float[]> biases)
    {
        ArgumentNullException.ThrowIfNull(biases);
        if (world.Rank == 0 && root is null) throw new InvalidOperationException("rank 0 of the bias broadcast needs the authority");
        var decided = world.Rank == 0 ? root!.Update(step, loads, gamma, biases) : null;
        var sizes = biases.Select(b => b.Length).ToArray();
        var flat = new float[sizes.Sum()];
        if (decided is not null)
        {
            if (decided.Length != sizes.Length || decided.Select(b => b.Length).Where((n, i) => n != sizes[i]).Any())
                throw new InvalidOperationException($"the bias authority answered [{string.Join(", ", decided.Select(b => b.Length))}] experts per layer, expected [{string.Join(", ", sizes)}]");
            var offset = 0;
            foreach (var layer in decided)
            {
                layer.CopyTo(flat, offset);
                offset += layer.Length;
            }
        }
        using var values = tensor(flat, device: CPU);
        world.AllReduceSum(values);
        var all = values.data<float>().ToArray();
        var result = new float[sizes.Length][];
        var at = 0;
        for (var layer = 0; layer < sizes.Length; layer++)
        {
            result[layer] = all.AsSpan(at, sizes[layer]).ToArray();
            at += sizes[layer];
        }
        return result;
    }
}
