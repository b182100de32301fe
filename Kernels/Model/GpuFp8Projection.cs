using Orchestrator.Kernels.Gpu;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// <see cref="Fp8Projection"/>'s recipe with real FP8 GEMMs on the GPU: the inputs are quantised by
/// the CUDA kernels and multiplied by cuBLASLt's block-scaled E4M3 GEMM (fp32 accumulation promoted
/// every 128 values), instead of being fake-quantised and multiplied in float32. Fprop: x tiles ·
/// W blocks; Dgrad: dy tiles · Wᵀ blocks; Wgrad: dyᵀ tiles · xᵀ tiles (both along the tokens).
/// A non-finite input gives a NaN scale, hence a NaN output, which the trainer's loss and
/// gradient-norm checks stop (the emulation throws at quantisation instead).
/// </summary>
internal sealed class GpuFp8Projection : Fp8ProductFunction<GpuFp8Projection>
{
    public override string Name => "GpuFp8Projection";

    /// <summary>True when this path can run the product: CUDA tensors, the library loaded, alignable shapes.</summary>
    public static bool Supports(Tensor input, Tensor weight) =>
        Fp8Gpu.Available && input.device_type == DeviceType.CUDA && input.dtype == ScalarType.Float32
        && input.shape[^1] % 4 == 0 && weight.shape[0] % 8 == 0;

    public static Tensor Apply(Tensor input, Tensor weight) => apply(input, weight)[0];

    protected override Tensor Product(Tensor input, Tensor weight)
    {
        var rows = input.reshape(-1, input.shape[^1]).contiguous();
        using var x = Fp8Gpu.Quantize(rows, Fp8Grouping.Tile);
        using var w = Fp8Gpu.Quantize(weight.contiguous(), Fp8Grouping.Block);
        var output = Widen(Fp8Gpu.Gemm(x, w, Fp8Gpu.ProjectionOutput));
        var shape = input.shape.ToArray();
        shape[^1] = weight.shape[0];
        return output.reshape(shape);
    }

    protected override (Tensor Input, Tensor Weight) Gradients(Tensor input, Tensor weight, Tensor outputGradient)
    {
        weight = weight.contiguous();
        var dy = outputGradient.reshape(-1, weight.shape[0]).contiguous();
        var x = input.reshape(-1, input.shape[^1]).contiguous();
        Tensor dx, dw;
        using (var dyTiles = Fp8Gpu.Quantize(dy, Fp8Grouping.Tile))
        using (var weightT = Fp8Gpu.Quantize(weight, Fp8Grouping.Block, transpose: true))
            dx = Widen(Fp8Gpu.Gemm(dyTiles, weightT, Fp8Gpu.ProjectionOutput));
        using (var dyT = Fp8Gpu.Quantize(dy, Fp8Grouping.Tile, transpose: true))
        using (var xT = Fp8Gpu.Quantize(x, Fp8Grouping.Tile, transpose: true))
            dw = Widen(Fp8Gpu.Gemm(dyT, xT, Fp8Gpu.ProjectionOutput));
        return (dx.reshape(input.shape), dw);
    }

    private static Tensor Widen(Tensor product) => product.dtype == ScalarType.Float32 ? product : product.to(ScalarType.Float32);
}
