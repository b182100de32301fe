using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The step-end synchronisation of an expert-parallel rank. Each rank's loss is the mean over its
/// own tokens, so the replicated (dense) gradients are averaged over ranks, and a routed expert's
/// gradient — which already holds the contributions of every rank's tokens, delivered by the
/// all-to-all backward — is divided by the rank count: together exactly the gradient of the mean
/// loss over the global batch that the single-process run takes. With dp &gt; 1 an expert's gradient
/// is first summed over the replicas of its shard (each saw only its own EP group's tokens). An expert with several
/// copies in the EP group's map has its copies' gradients summed too (<see cref="ReplicaGradients"/>), and counts once
/// in the norm.
/// </summary>
public static class GradientSync
{
    /// <summary>Averages replicated gradients over ranks (one flattened all-reduce) and rescales expert gradients.</summary>
    public static void AverageReplicated(DeepSeekModel model, ExpertParallelism parallel)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var world = Scalars.Of(parallel.World.WorldSize);
        var replicated = new List<Tensor>();
        var experts = new List<Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.grad is not { } g) continue;
            (DeepSeekModel.IsRoutedExpertParameter(name) ? experts : replicated).Add(g);
        }
        if (parallel.Replicas is { } replicas) SumInPlace(experts, replicas);
        ReplicaGradients.Sum(model.MoeLayers, parallel.Collective);
        foreach (var g in experts) g.div_(world);
        SumInPlace(replicated, parallel.World);
        foreach (var g in replicated) g.div_(world);
    }

    /// <summary>Sums the tensors over the group in one flattened all-reduce, in place.</summary>
    private static void SumInPlace(List<Tensor> tensors, ICollective group)
    {
        if (tensors.Count == 0) return;
        using var flat = cat(tensors.Select(g => g.flatten()).ToArray());
        group.AllReduceSum(flat);
        long offset = 0;
        foreach (var g in tensors)
        {
            g.copy_(flat.narrow(0, offset, g.numel()).view(g.shape));
            offset += g.numel();
        }
    }

    /// <summary>Global L2 norm: the replicated part once, plus every expert shard's part once.</summary>
    public static double GlobalNorm(DeepSeekModel model, ExpertParallelism parallel)
    {
        using var scope = NewDisposeScope();
        double replicated = 0, experts = 0;
        var secondCopies = ReplicaGradients.SecondCopies(model.MoeLayers, parallel.Rank);
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.grad is not { } g || secondCopies.Contains(p.Handle)) continue;
            var square = g.to(ScalarType.Float64).pow(Scalars.OfInteger(2)).sum().item<double>();
            if (DeepSeekModel.IsRoutedExpertParameter(name)) experts += square;
            else replicated += square;
        }
        // After the replica sum every replica of a shard holds the same gradient: count the first one only.
        using var expertTotal = tensor(new[] { parallel.IsPrimaryReplica ? experts : 0.0 }, ScalarType.Float64, device: CPU);
        parallel.World.AllReduceSum(expertTotal);
        return Math.Sqrt(replicated + expertTotal.item<double>());
    }

    /// <summary>
    /// The step's per-layer expert loads summed over ranks: an all-reduce of 64-bit integers (exact in
    /// any order), 2(n − 1) messages where an all-gather takes n(n − 1).
    /// </summary>
    public static long[][] SumLoads(ICollective collective, IReadOnlyList<long[]> loads)
    {
        using var flat = tensor(loads.SelectMany(l => l).ToArray(), ScalarType.Int64, device: CPU);
        collective.AllReduceSum(flat);
        var sum = flat.data<long>().ToArray();
        var result = new long[loads.Count][];
        var offset = 0;
        for (var layer = 0; layer < loads.Count; layer++)
        {
            result[layer] = sum.AsSpan(offset, loads[layer].Length).ToArray();
            offset += loads[layer].Length;
        }
        return result;
    }

    /// <summary>
    /// Losses averaged over ranks, so every rank reports the global batch's loss; with them, in the same
    /// all-reduce, each rank's vote on going on (summed: all went on when the sum is the world size) and the state of
    /// its previous peer snapshot (summed into a <see cref="SnapshotTally"/>: every rank learns every rank's).
    /// </summary>
    public static (double, double, double, double, bool, SnapshotTally) MeanOverRanks(ICollective collective, double a, double b, double c, double d, bool goOn,
        SnapshotSendState snapshot = SnapshotSendState.Arrived)
    {
        ArgumentNullException.ThrowIfNull(collective);
        var mine = SnapshotTally.Of(snapshot);
        using var values = tensor(new[] { a, b, c, d, goOn ? 1.0 : 0.0, mine.InFlight, mine.Failed }, ScalarType.Float64, device: CPU);
        collective.AllReduceSum(values);
        var v = values.cpu().data<double>().ToArray();
        var n = collective.WorldSize;
        return (v[0] / n, v[1] / n, v[2] / n, v[3] / n, v[4] == n, new SnapshotTally((int)v[5], (int)v[6]));
    }
}
