namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// ZB1P (ZB-H1 of Qi et al., "Zero Bubble Pipeline Parallelism"): 1F1B's order with each backward split
/// into the input gradient (B, which the previous stage waits for) and the weight gradient (W, which
/// nobody waits for). Rank r holds back its weight gradients by r micro-batches, so the later ranks, which
/// have no bubble to fill, push theirs to the drain, and the earlier ranks run theirs in the waits for
/// gradients. Bubble (pp − 1)(F + B − 2W) with B the full backward; activations held as 1F1B's (pp).
/// </summary>
public sealed class ZeroBubbleSchedule : PipelineSchedule
{
    /// <inheritdoc />
    public override string Name => "zb1p";

    /// <inheritdoc />
    public override int ChunksPerRank => 1;

    /// <inheritdoc />
    public override int VirtualStageOf(int rank, int chunk, int ranks) => rank;

    /// <inheritdoc />
    protected override IEnumerable<PipelineAction> ComputeOrder(int rank, int ranks, int microBatches)
    {
        var warmUp = Math.Min(ranks - rank - 1, microBatches);
        var weights = 0;
        for (var m = 0; m < warmUp; m++) yield return Compute(PipelineOp.Forward, m, 0, rank, ranks);
        for (var b = 0; b < microBatches; b++)
        {
            if (b + warmUp < microBatches) yield return Compute(PipelineOp.Forward, b + warmUp, 0, rank, ranks);
            yield return Compute(PipelineOp.BackwardInput, b, 0, rank, ranks);
            // In the drain every rank waits for gradients, so the held-back weights go into those waits, one per wait.
            var drain = b + warmUp >= microBatches;
            if (weights <= b && (drain || weights + rank <= b))
                yield return Compute(PipelineOp.BackwardWeight, weights++, 0, rank, ranks);
        }

        for (; weights < microBatches; weights++) yield return Compute(PipelineOp.BackwardWeight, weights, 0, rank, ranks);
    }
}
