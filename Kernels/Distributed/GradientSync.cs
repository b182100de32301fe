using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The step-end synchronisation of an expert-parallel rank. Each rank's loss is the mean over its
/// own tokens, so the replicated (dense) gradients are averaged over ranks, and a routed expert's
/// gradient — which already holds the contributions of every rank's tokens, delivered by the
/// all-to-all backward — is divided by the rank count: together exactly the gradient of the mean
/// loss over the global batch that the single-process run takes.
/// </summary>
public static class GradientSync
{
    /// <summary>Averages replicated gradients over ranks (one flattened all-reduce) and rescales expert gradients.</summary>
    public static void AverageReplicated(DeepSeekModel model, ExpertParallelism parallel)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var world = Scalars.Of(parallel.WorldSize);
        var replicated = new List<Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.grad is not { } g) continue;
            if (DeepSeekModel.IsRoutedExpertParameter(name)) g.div_(world);
            else replicated.Add(g);
        }
        if (replicated.Count == 0) return;
        var flat = cat(replicated.Select(g => g.flatten()).ToArray());
        parallel.Collective.AllReduceSum(flat);
        flat.div_(world);
        long offset = 0;
        foreach (var g in replicated)
        {
            g.copy_(flat.narrow(0, offset, g.numel()).view(g.shape));
            offset += g.numel();
        }
    }

    /// <summary>Global L2 norm: the replicated part once, plus every rank's expert part.</summary>
    public static double GlobalNorm(DeepSeekModel model, ICollective collective)
    {
        using var scope = NewDisposeScope();
        double replicated = 0, experts = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.grad is not { } g) continue;
            var square = g.to(ScalarType.Float64).square().sum().item<double>();
            if (DeepSeekModel.IsRoutedExpertParameter(name)) experts += square;
            else replicated += square;
        }
        var expertTotal = tensor(new[] { experts }, ScalarType.Float64);
        collective.AllReduceSum(expertTotal);
        return Math.Sqrt(replicated + expertTotal.item<double>());
    }

    /// <summary>The step's per-layer expert loads summed over ranks (exact integers, in rank order).</summary>
    public static long[][] SumLoads(ICollective collective, IReadOnlyList<long[]> loads)
    {
        var flat = loads.SelectMany(l => l).ToArray();
        var all = collective.AllGather(flat);
        var sum = new long[flat.Length];
        foreach (var rank in all)
            for (var i = 0; i < sum.Length; i++) sum[i] += rank[i];
        var result = new long[loads.Count][];
        var offset = 0;
        for (var layer = 0; layer < loads.Count; layer++)
        {
            result[layer] = sum.AsSpan(offset, loads[layer].Length).ToArray();
            offset += loads[layer].Length;
        }
        return result;
    }

    /// <summary>Losses averaged over ranks, so every rank reports the global batch's loss.</summary>
    public static (double, double, double, double) MeanOverRanks(ICollective collective, double a, double b, double c, double d)
    {
        using var values = tensor(new[] { a, b, c, d }, ScalarType.Float64);
        collective.AllReduceSum(values);
        var v = values.cpu().data<double>().ToArray();
        var n = collective.WorldSize;
        return (v[0] / n, v[1] / n, v[2] / n, v[3] / n);
    }
}
