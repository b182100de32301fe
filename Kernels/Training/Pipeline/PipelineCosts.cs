namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// Time of each compute of one chunk and micro-batch, in any unit, for simulating a plan. The full
/// backward takes <see cref="BackwardInput"/> + <see cref="BackwardWeight"/> (REFERENCE.md's B).
/// </summary>
/// <param name="Forward">F.</param>
/// <param name="BackwardInput">The input-gradient part of the backward.</param>
/// <param name="BackwardWeight">W.</param>
/// <param name="OverlappedPair">F&amp;B: a forward and a full backward run overlapped; null for F + B (no overlap).</param>
/// <param name="Latency">Time from a send to its receive being able to finish.</param>
public sealed record PipelineCosts(double Forward, double BackwardInput, double BackwardWeight, double? OverlappedPair = null, double Latency = 0)
{
    /// <summary>B: the full backward.</summary>
    public double Backward => BackwardInput + BackwardWeight;

    /// <summary>F&amp;B as it runs.</summary>
    public double Pair => OverlappedPair ?? Forward + Backward;

    /// <summary>The time one compute action takes.</summary>
    public double Of(PipelineOp op) => op switch
    {
        PipelineOp.Forward => Forward,
        PipelineOp.Backward => Backward,
        PipelineOp.BackwardInput => BackwardInput,
        PipelineOp.BackwardWeight => BackwardWeight,
        _ => 0,
    };
}
