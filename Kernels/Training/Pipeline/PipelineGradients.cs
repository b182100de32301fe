using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// The gradient work of a pipeline step that spans ranks: the embedding copies made equal, and the global norm
/// summed exactly as one process sums it (every parameter's square, in the whole model's order), so that clipping
/// scales by the same factor on every rank as in a single-process run.
/// </summary>
internal static class PipelineGradients
{
    /// <summary>
    /// With MTP the last stage holds a copy of the embedding: both copies get the sum of the two gradients (the
    /// first stage's first) and so take the same update. When the two stages are on different ranks every rank of
    /// the pipeline joins one sum (the others add zeros, which is exact); otherwise the sum is local.
    /// </summary>
    public static void TieEmbedding(IReadOnlyList<PipelineChunk> chunks, ICollective pipeline, bool acrossRanks, long[] shape)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var holders = chunks.Where(c => c.Stage.HoldsEmbedding || c.HoldsEmbeddingCopy).OrderBy(c => c.Stage.Stage).Select(Embedding).ToList();
        if (!acrossRanks)
        {
            if (holders.Count == 0) return; // both copies live on another rank of the pipeline
            if (holders.Count != 2) throw new InvalidOperationException($"this rank holds {holders.Count} embeddings; the tie needs both");
            var sum = Gradient(holders[0]).add(Gradient(holders[1]), Scalars.One);
            holders[0].grad!.copy_(sum);
            holders[1].grad!.copy_(sum);
            return;
        }

        if (holders.Count > 1) throw new InvalidOperationException("both embeddings on one rank, yet tied across ranks");
        var buffer = holders.Count == 1 ? Gradient(holders[0]).detach().cpu().clone() : zeros(shape, ScalarType.Float32, device: CPU);
        pipeline.AllReduceSum(buffer);
        if (holders.Count == 1) holders[0].grad!.copy_(buffer);
    }

    /// <summary>
    /// Data parallelism over pipelines: every gradient of the rank's stages summed over the stage's replicas in one
    /// flattened all-reduce (rank order) and divided by their count — the gradient of the mean loss over all
    /// replicas' rows. A parameter that got no gradient on this replica takes part as zeros, so the flat layouts agree.
    /// </summary>
    public static void AverageOverReplicas(IReadOnlyList<PipelineChunk> chunks, ICollective replicas)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var parameters = chunks.SelectMany(c => c.parameters()).Where(p => p.requires_grad).ToList();
        if (parameters.Count == 0) return;
        // Which parameters had a gradient here travels in the same sum: one that none of the replicas touched goes
        // back to no gradient (AdamW skips it, as one process skips a parameter that no row reached).
        var had = parameters.Select(p => p.grad is null ? 0f : 1f).ToArray();
        var grads = parameters.Select(Gradient).ToList();
        using var flags = tensor(had, device: CPU);
        using var flat = cat([.. grads.Select(g => g.flatten().cpu()), flags]);
        replicas.AllReduceSum(flat);
        long offset = 0;
        foreach (var g in grads)
        {
            g.copy_(flat.narrow(0, offset, g.numel()).view(g.shape).div(Scalars.Of(replicas.WorldSize)));
            offset += g.numel();
        }

        var touched = flat.narrow(0, offset, parameters.Count).data<float>().ToArray();
        for (var i = 0; i < parameters.Count; i++)
            if (touched[i] == 0) parameters[i].grad = null;
    }

    /// <summary>
    /// The global L2 norm of every gradient of the model, each embedding counted once: each rank computes its
    /// parameters' squares in float64, the squares are laid out in the whole model's parameter order (stage by
    /// stage; within a stage in registration order), summed across ranks (one rank writes each slot, the others
    /// add zeros) and reduced as <see cref="Trainer"/> reduces them.
    /// </summary>
    public static double GlobalNorm(IReadOnlyList<PipelineChunk> chunks, ICollective pipeline, int virtualStages)
    {
        using var scope = NewDisposeScope();
        var squares = chunks.ToDictionary(c => c.Stage.Stage, c => Counted(c).Select(g => g.to(ScalarType.Float64).pow(Scalars.OfInteger(2)).sum()).ToArray());
        var counts = new long[virtualStages];
        foreach (var (stage, values) in squares) counts[stage] = values.Length;
        var all = pipeline.AllGather(counts);
        var perStage = Enumerable.Range(0, virtualStages).Select(s => all.Sum(r => r[s])).ToArray();
        var total = perStage.Sum();
        if (total == 0) return 0;
        var offsets = new long[virtualStages];
        for (var s = 1; s < virtualStages; s++) offsets[s] = offsets[s - 1] + perStage[s - 1];

        var vector = zeros(total, ScalarType.Float64, device: CPU);
        foreach (var (stage, values) in squares)
            if (values.Length > 0) vector.narrow(0, offsets[stage], values.Length).copy_(stack(values).cpu());
        pipeline.AllReduceSum(vector);
        return vector.sum().sqrt().item<double>();
    }

    /// <summary>The gradients a chunk counts in the norm: all of its parameters' but the embedding copy's.</summary>
    private static IEnumerable<Tensor> Counted(PipelineChunk chunk) =>
        chunk.named_parameters().Where(p => !(chunk.HoldsEmbeddingCopy && p.name == "embed")).Select(p => p.parameter.grad).OfType<Tensor>();

    private static Parameter Embedding(PipelineChunk chunk) => chunk.named_parameters().First(p => p.name == "embed").parameter;

    internal static Tensor Gradient(Parameter p)
    {
        if (p.grad is null)
        {
            using var noGrad = no_grad();
            p.grad = zeros_like(p);
        }

        return p.grad!;
    }
}
