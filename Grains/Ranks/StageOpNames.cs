using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Grains.Ranks;

/// <summary>The short names a stage's timeline gives its computes (the dashboard's legend).</summary>
internal static class StageOpNames
{
    /// <summary>F, B, Bi (input gradient) or W (weight gradient).</summary>
    public static string Of(PipelineOp op) => op switch
    {
        PipelineOp.Forward => "F",
        PipelineOp.Backward => "B",
        PipelineOp.BackwardInput => "Bi",
        PipelineOp.BackwardWeight => "W",
        _ => op.ToString(),
    };
}
