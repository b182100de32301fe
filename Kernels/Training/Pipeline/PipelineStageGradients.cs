using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// The gradient work of a pipeline whose stages shard their routed experts (pp × ep, with dp): as an expert-parallel
/// rank does it (<see cref="GradientSync"/>), over the ranks of one stage. Every rank of a stage trained its own rows,
/// so the dense gradients are averaged over the stage's ranks; an expert's gradient already holds every EP rank's
/// tokens (the all-to-all backward delivered them), is summed over its replicas and divided by the stage's ranks.
/// </summary>
internal static class PipelineStageGradients
{
    /// <summary>Averages the dense gradients over the stage and rescales the expert gradients, as one process over the stage's rows would have them.</summary>
    public static void AverageOverStage(IReadOnlyList<PipelineChunk> chunks, ExpertParallelism experts)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var named = chunks.SelectMany(c => c.named_parameters()).Where(p => p.parameter.requires_grad).ToList();
        var dense = named.Where(p => !DeepSeekModel.IsRoutedExpertParameter(p.name)).Select(p => p.parameter).ToList();
        var routed = named.Where(p => DeepSeekModel.IsRoutedExpertParameter(p.name)).Select(p => p.parameter).ToList();
        var world = Scalars.Of(experts.World.WorldSize);
        if (experts.Replicas is { } replicas) SumInPlace(routed, replicas);
        foreach (var p in routed) p.grad?.div_(world);
        SumInPlace(dense, experts.World);
        foreach (var p in dense) p.grad?.div_(world);
    }

    /// <summary>
    /// The global norm: each stage's dense part (equal on its ranks after the average) plus its expert shards' parts
    /// summed over the stage (each shard once: its first replica), then the stages' sums added over the pipeline.
    /// The same on every rank, but not summed in one process's order (expert parallelism is not bit-exact anyway).
    /// </summary>
    public static double ShardedNorm(IReadOnlyList<PipelineChunk> chunks, ICollective pipeline, ExpertParallelism experts)
    {
        using var scope = NewDisposeScope();
        double dense = 0, routed = 0;
        foreach (var chunk in chunks)
        {
            foreach (var (name, p) in chunk.named_parameters())
            {
                if (p.grad is not { } g || (chunk.HoldsEmbeddingCopy && name == "embed")) continue; // the copy counts once, as the original
                var square = g.to(ScalarType.Float64).pow(Scalars.OfInteger(2)).sum().item<double>();
                if (DeepSeekModel.IsRoutedExpertParameter(name)) routed += square;
                else dense += square;
            }
        }

        using var shards = tensor(new[] { experts.IsPrimaryReplica ? routed : 0.0 }, ScalarType.Float64, device: CPU);
        experts.World.AllReduceSum(shards);
        using var stage = tensor(new[] { dense + shards.item<double>() }, ScalarType.Float64, device: CPU);
        pipeline.AllReduceSum(stage);
        return Math.Sqrt(stage.item<double>());
    }

    /// <summary>Sums the gradients over the group in one flattened all-reduce; a parameter none of the group touched keeps no gradient.</summary>
    private static void SumInPlace(List<Parameter> parameters, ICollective group)
    {
        if (parameters.Count == 0) return;
        var had = parameters.Select(p => p.grad is null ? 0f : 1f).ToArray();
        var grads = parameters.Select(PipelineGradients.Gradient).ToList();
        using var flags = tensor(had, device: CPU);
        using var flat = cat([.. grads.Select(g => g.flatten().cpu()), flags]);
        group.AllReduceSum(flat);
        long offset = 0;
        foreach (var g in grads)
        {
            g.copy_(flat.narrow(0, offset, g.numel()).view(g.shape));
            offset += g.numel();
        }

        var touched = flat.narrow(0, offset, parameters.Count).data<float>().ToArray();
        for (var i = 0; i < parameters.Count; i++)
            if (touched[i] == 0) parameters[i].grad = null;
    }
}
