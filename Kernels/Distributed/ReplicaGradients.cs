using Orchestrator.Kernels.Model;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The gradients of replicated experts (<see cref="ExpertLayerMap"/> with more than one copy of an expert). Each copy ran
/// its part of the expert's rows, so its gradient is that part's contribution; summed over the copies it is the gradient
/// one copy running every row would have, and every copy then takes the same optimizer step from the same state, so the
/// copies stay identical. One all-reduce over the EP group carries every replicated expert of every layer: a rank without
/// a copy adds zeros, which leaves each sum exact (x + 0 = x), so the result is the copies' sum in rank order.
/// </summary>
public static class ReplicaGradients
{
    /// <summary>Sums each replicated expert's gradient over its copies, in place on every copy; nothing when no layer replicates.</summary>
    public static void Sum(IReadOnlyList<MoeLayer> layers, ICollective group)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(group);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var parts = new List<(Tensor[]? Grads, long Size)>();
        Device? device = null;
        foreach (var layer in layers)
        {
            if (layer.Map is not { } map) continue;
            var template = layer.Expert(map.Held(group.Rank)[0]).parameters().ToArray();
            device ??= template[0].device;
            var size = template.Sum(p => p.numel());
            foreach (var e in map.Replicated)
            {
                if (!layer.Holds(e))
                {
                    parts.Add((null, size));
                    continue;
                }
                var grads = layer.Expert(e).parameters().Select(p => p.grad
                    ?? throw new InvalidOperationException($"routed expert {e} has no gradient: every held expert runs each step")).ToArray();
                parts.Add((grads, size));
            }
        }
        if (parts.Count == 0) return;

        using var flat = cat(parts.Select(p => p.Grads is null
            ? zeros(p.Size, ScalarType.Float32, device: device!)
            : cat(p.Grads.Select(g => g.flatten()).ToArray())).ToArray());
        group.AllReduceSum(flat);
        long offset = 0;
        foreach (var (grads, size) in parts)
        {
            if (grads is not null)
            {
                var at = offset;
                foreach (var g in grads)
                {
                    g.copy_(flat.narrow(0, at, g.numel()).view(g.shape));
                    at += g.numel();
                }
            }
            offset += size;
        }
    }

    /// <summary>
    /// The parameters of expert copies other than each expert's first (its lowest-ranked host): left out of job-wide
    /// sums such as the gradient norm, so that a replicated expert counts once.
    /// </summary>
    public static HashSet<IntPtr> SecondCopies(IReadOnlyList<MoeLayer> layers, int rank)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var handles = new HashSet<IntPtr>();
        foreach (var layer in layers)
        {
            if (layer.Map is not { } map) continue;
            foreach (var e in map.Held(rank).Where(e => map.Hosts(e)[0] != rank))
                foreach (var p in layer.Expert(e).parameters()) handles.Add(p.Handle);
        }
        return handles;
    }
}
