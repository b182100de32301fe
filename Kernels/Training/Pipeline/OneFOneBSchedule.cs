namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// 1F1B (PipeDream-flush / Megatron): rank r runs pp − r − 1 warm-up forwards, then alternates one forward
/// and one full backward, then drains the remaining backwards. Bubble (pp − 1)(F + B); at most pp − r
/// micro-batches' activations held on rank r.
/// </summary>
public sealed class OneFOneBSchedule : PipelineSchedule
{
    /// <inheritdoc />
    public override string Name => "1f1b";

    /// <inheritdoc />
    public override int ChunksPerRank => 1;

    /// <inheritdoc />
    public override int VirtualStageOf(int rank, int chunk, int ranks) => rank;

    /// <inheritdoc />
    protected override IEnumerable<PipelineAction> ComputeOrder(int rank, int ranks, int microBatches)
    {
        var warmUp = Math.Min(ranks - rank - 1, microBatches);
        for (var m = 0; m < warmUp; m++) yield return Compute(PipelineOp.Forward, m, 0, rank, ranks);
        for (var m = warmUp; m < microBatches; m++)
        {
            yield return Compute(PipelineOp.Forward, m, 0, rank, ranks);
            yield return Compute(PipelineOp.Backward, m - warmUp, 0, rank, ranks);
        }

        for (var m = microBatches - warmUp; m < microBatches; m++) yield return Compute(PipelineOp.Backward, m, 0, rank, ranks);
    }
}
