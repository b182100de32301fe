using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>FP8 block-scaled projection (DeepSeek-V3 recipe). Arrives with the FP8 training mode.</summary>
internal static class Fp8Projection
{
    public static Tensor Apply(Tensor input, Tensor weight) =>
        throw new NotSupportedException("model.dtype \"fp8\": the FP8 training mode is not built yet; use \"float32\" or \"bfloat16\".");
}
