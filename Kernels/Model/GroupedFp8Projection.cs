using Orchestrator.Kernels.Gpu;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// <see cref="GpuFp8Projection"/>'s recipe for a padded batch of experts, x [E, cap, k] · W [E, n, k]ᵀ:
/// every operand of the three GEMMs is quantised for all experts in one launch (activations and
/// gradients in 1×128 tiles, the stacked weights in 128×128 blocks; cap, k and n multiples of 128, so
/// no scaling group straddles two experts), then one cuBLASLt block-scaled GEMM per expert runs on its
/// slice (a pointer offset into the shared FP8 buffers) and writes its part of the batched result.
/// The transposed operands of Dgrad and Wgrad are transposed per expert in bulk first (one copy each),
/// then quantised like the others. Pad rows are zero: zero codes, scale 1, zero products.
/// </summary>
internal sealed class GroupedFp8Projection : Fp8ProductFunction<GroupedFp8Projection>
{
    public override string Name => "GroupedFp8Projection";

    /// <summary>True when this path can run: the GPU FP8 path is available, float32 CUDA tensors, 128-aligned shapes.</summary>
    public static bool Supports(Tensor x, Tensor weight) =>
        Fp8Gpu.Available && Fp8Gpu.GroupedExperts && !Fp8Gpu.SwapOperands && x.device_type == DeviceType.CUDA && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && x.dim() == 3 && weight.dim() == 3 && x.shape[0] == weight.shape[0] && x.shape[2] == weight.shape[2]
        && x.shape[1] % Fp8Gpu.Group == 0 && x.shape[2] % Fp8Gpu.Group == 0 && weight.shape[1] % Fp8Gpu.Group == 0
        && Fp8Gpu.Group % Fp8Gpu.TileRowPad == 0;

    public static Tensor Apply(Tensor x, Tensor weight) => apply(x, weight)[0];

    protected override Tensor Product(Tensor x, Tensor weight)
    {
        long e = x.shape[0], cap = x.shape[1], k = x.shape[2], n = weight.shape[1];
        return Multiply(x.reshape(e * cap, k).contiguous(), Fp8Grouping.Tile, weight.reshape(e * n, k).contiguous(), Fp8Grouping.Block, e);
    }

    protected override (Tensor Input, Tensor Weight) Gradients(Tensor x, Tensor weight, Tensor outputGradient)
    {
        long e = x.shape[0], cap = x.shape[1], k = x.shape[2], n = weight.shape[1];
        var dy = outputGradient.contiguous();
        // Dgrad: dx_e = dy_e · W_e (dy tiles along n, W_eᵀ [k, n] in blocks).
        var dx = Multiply(dy.view(e * cap, n), Fp8Grouping.Tile, weight.transpose(1, 2).contiguous().view(e * k, n), Fp8Grouping.Block, e);
        // Wgrad: dW_e = dy_eᵀ · x_e (both in tiles along the tokens).
        var dw = Multiply(dy.transpose(1, 2).contiguous().view(e * n, cap), Fp8Grouping.Tile, x.transpose(1, 2).contiguous().view(e * k, cap), Fp8Grouping.Tile, e);
        return (dx, dw);
    }

    /// <summary>For each expert e: A_e · B_eᵀ with A [E·m, K] and B [E·p, K] → [E, m, p] float32.</summary>
    private static Tensor Multiply(Tensor a, Fp8Grouping aGrouping, Tensor b, Fp8Grouping bGrouping, long experts)
    {
        long m = a.shape[0] / experts, p = b.shape[0] / experts;
        var output = empty([experts, m, p], Fp8Gpu.ProjectionOutput, device: a.device);
        using (var qa = Fp8Gpu.QuantizeExperts(a, aGrouping, experts))
        using (var qb = Fp8Gpu.QuantizeExperts(b, bGrouping, experts))
        {
            for (var e = 0L; e < experts; e++)
            {
                using var ae = qa.Expert(e);
                using var be = qb.Expert(e);
                using var slice = output.select(0, e);
                Fp8Gpu.GemmInto(ae, be, slice);
            }
        }
        if (output.dtype == ScalarType.Float32) return output;
        using (output) return output.to(ScalarType.Float32);
    }
}
