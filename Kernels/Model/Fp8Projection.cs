using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Fp8;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// y = x·Wᵀ with DeepSeek-V3's FP8 recipe in all three GEMMs: Fprop sees x in 1×128 tiles and W
/// in 128×128 blocks; Dgrad sees dy in 1×128 tiles (along its reduction dimension) and W in
/// blocks; Wgrad sees dyᵀ and xᵀ in 1×128 tiles along the token dimension (its reduction
/// dimension). E4M3 everywhere; products accumulate in FP32, which stands for the promoted
/// accumulation (the promoted GEMM's error is ~0.025 %, flat in K: see BENCHMARKS.md). The
/// master weight and its gradient stay FP32.
/// </summary>
internal sealed class Fp8Projection : Fp8ProductFunction<Fp8Projection>
{
    public override string Name => "Fp8Projection";

    /// <summary>
    /// Real FP8 GEMMs (<see cref="GpuFp8Projection"/>) when the tensors are on CUDA and the CUDA kernel
    /// library is loaded; the float32 emulation otherwise (CPU, or no library).
    /// </summary>
    public static Tensor Apply(Tensor input, Tensor weight) =>
        GpuFp8Projection.Supports(input, weight) ? GpuFp8Projection.Apply(input, weight) : apply(input, weight)[0];

    protected override Tensor Product(Tensor input, Tensor weight)
    {
        var shape = input.shape;
        var rows = input.reshape(-1, shape[^1]);
        var output = Fp8FakeQuant.Tiles(rows).matmul(Fp8FakeQuant.Blocks(weight).t());
        var outShape = shape.ToArray();
        outShape[^1] = weight.shape[0];
        return output.reshape(outShape);
    }

    protected override (Tensor Input, Tensor Weight) Gradients(Tensor input, Tensor weight, Tensor outputGradient)
    {
        var dy = outputGradient.reshape(-1, weight.shape[0]);
        var x = input.reshape(-1, input.shape[^1]);
        // A managed exception cannot cross libtorch's autograd engine: a non-finite gradient is
        // passed on as NaN instead, and the trainer's gradient-norm check stops the step.
        if (!dy.isfinite().all().item<bool>())
            return (full_like(input, Scalars.Of(double.NaN)), full_like(weight, Scalars.Of(double.NaN)));
        var dx = Fp8FakeQuant.Tiles(dy).matmul(Fp8FakeQuant.Blocks(weight));
        var dw = Fp8FakeQuant.Tiles(dy.t().contiguous()).matmul(Fp8FakeQuant.Tiles(x.t().contiguous()).t());
        return (dx.reshape(input.shape), dw);
    }
}
