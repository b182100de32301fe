namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// One step of a rank's pipeline program.
/// </summary>
/// <param name="Op">What it does.</param>
/// <param name="MicroBatch">The micro-batch it concerns.</param>
/// <param name="Chunk">The rank's chunk (0 unless the schedule holds several per rank).</param>
/// <param name="Stage">The virtual stage of the compute it belongs to (a send or receive: the stage whose compute it feeds or follows).</param>
/// <param name="Peer">The other rank of a send or receive; -1 for compute.</param>
/// <param name="OverlapsNext">A forward run overlapped with the backward that follows it (DualPipe's F&amp;B pair).</param>
public sealed record PipelineAction(PipelineOp Op, int MicroBatch, int Chunk, int Stage, int Peer = -1, bool OverlapsNext = false)
{
    /// <summary>Whether this is a send or a receive.</summary>
    public bool IsCommunication => Op is PipelineOp.SendActivation or PipelineOp.ReceiveActivation or PipelineOp.SendGradient or PipelineOp.ReceiveGradient;

    /// <summary>
    /// The stage boundary a send or receive crosses, named by the lower stage (between it and the next):
    /// a send and the receive it meets share (kind, micro-batch, boundary).
    /// </summary>
    public int Boundary => Op switch
    {
        PipelineOp.SendActivation => Stage,
        PipelineOp.ReceiveActivation => Stage - 1,
        PipelineOp.SendGradient => Stage - 1,
        PipelineOp.ReceiveGradient => Stage,
        _ => throw new InvalidOperationException($"{Op} crosses no stage boundary"),
    };

    /// <inheritdoc />
    public override string ToString() => Op switch
    {
        PipelineOp.Forward => $"F{MicroBatch}.{Chunk}",
        PipelineOp.Backward => $"B{MicroBatch}.{Chunk}",
        PipelineOp.BackwardInput => $"Bi{MicroBatch}.{Chunk}",
        PipelineOp.BackwardWeight => $"W{MicroBatch}.{Chunk}",
        _ => $"{Op}({MicroBatch}.{Chunk}, peer {Peer})",
    };
}
