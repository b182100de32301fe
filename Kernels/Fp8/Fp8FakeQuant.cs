using static TorchSharp.torch;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// Quantise-then-dequantise of a 2-D float32 tensor through the exact CPU codec: the values a
/// GEMM really sees when its input is stored as block-scaled E4M3. Used by the FP8 training mode
/// to emulate the recipe on CPU.
/// </summary>
public static class Fp8FakeQuant
{
    /// <summary>1×128 tiles along the last dimension (activations and activation gradients).</summary>
    public static Tensor Tiles(Tensor matrix)
    {
        var quantized = Fp8TensorQuantizer.QuantizeActivations(matrix);
        try { return Fp8TensorQuantizer.Dequantize(quantized).to(matrix.device); }
        finally { Dispose(quantized); }
    }

    /// <summary>128×128 blocks (weights).</summary>
    public static Tensor Blocks(Tensor matrix)
    {
        var quantized = Fp8TensorQuantizer.QuantizeWeights(matrix);
        try { return Fp8TensorQuantizer.Dequantize(quantized).to(matrix.device); }
        finally { Dispose(quantized); }
    }

    private static void Dispose(Fp8Tensor t)
    {
        t.Codes.Dispose();
        t.Scales.Dispose();
    }
}
