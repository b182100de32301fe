namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>What a pipeline action does.</summary>
public enum PipelineOp
{
    /// <summary>Forward of one micro-batch through one chunk.</summary>
    Forward,

    /// <summary>Full backward (input and weight gradients together), as 1F1B runs it.</summary>
    Backward,

    /// <summary>Backward for the input gradient only (B): what the previous stage waits for.</summary>
    BackwardInput,

    /// <summary>Backward for the weight gradients (W), deferred into the bubbles.</summary>
    BackwardWeight,

    /// <summary>Send a chunk's output activation to the rank that runs the next virtual stage.</summary>
    SendActivation,

    /// <summary>Receive the previous virtual stage's activation.</summary>
    ReceiveActivation,

    /// <summary>Send the input gradient to the rank that runs the previous virtual stage.</summary>
    SendGradient,

    /// <summary>Receive the next virtual stage's input gradient.</summary>
    ReceiveGradient,
}
