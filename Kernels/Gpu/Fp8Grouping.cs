namespace Orchestrator.Kernels.Gpu;

/// <summary>How an operand's scales group its values (DeepSeek-V3's recipe).</summary>
public enum Fp8Grouping
{
    /// <summary>1×128 along the reduction dimension (activations, gradients).</summary>
    Tile = 0,

    /// <summary>128×128 (weights).</summary>
    Block = 1,
}
