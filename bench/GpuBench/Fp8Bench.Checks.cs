using System.Text.Json.Nodes;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>The FP8 bench's correctness checks: quantisation against the CPU codec, scale layouts, GEMM error, the GPU projection.</summary>
internal static partial class Fp8Bench
{
    private static int QuantisationChecks(Results results)
    {
        var failures = 0;
        (long Rows, long Cols, Fp8Grouping Grouping, bool Transpose, ScalarType Type)[] cases =
        [
            (1000, 1024, Fp8Grouping.Tile, false, ScalarType.Float32),
            (1000, 1024, Fp8Grouping.Tile, false, ScalarType.BFloat16),
            (513, 900, Fp8Grouping.Tile, false, ScalarType.Float32),
            (1000, 900, Fp8Grouping.Tile, true, ScalarType.Float32),
            (1000, 900, Fp8Grouping.Tile, true, ScalarType.BFloat16),
            (640, 896, Fp8Grouping.Block, false, ScalarType.Float32),
            (700, 896, Fp8Grouping.Block, false, ScalarType.BFloat16),
            (700, 900, Fp8Grouping.Block, true, ScalarType.Float32),
            (4096, 7168, Fp8Grouping.Tile, false, ScalarType.Float32),
        ];
        // The reciprocal encoder against the division, value by value, on the device (half the values near
        // E4M3 rounding boundaries, where only the fix-up makes them agree).
        const long encoderCases = 1L << 28;
        var encoderMismatches = QuantKernel.EncoderMismatches(20261130, encoderCases);
        if (encoderMismatches != 0) failures++;
        Results.Say($"{(encoderMismatches == 0 ? "PASS" : "FAIL")} reciprocal encoder vs division: {encoderMismatches} disagreements in {encoderCases} values");
        results.Add("encoder_check", new JsonObject { ["values"] = encoderCases, ["mismatches"] = encoderMismatches, ["pass"] = encoderMismatches == 0 });

        // Both value encoders (division per value; reciprocal multiply with the exact fix-up), both scale layouts.
        foreach (var (fast, layout) in new[] { (false, 0), (false, 1), (true, 0), (true, 1) })
        {
            QuantKernel.Fast = fast;
            Fp8Gpu.TileScaleLayout = layout;
            Fp8Gpu.BlockScaleLayout = layout;
            Fp8Gpu.BlockScalePad = 4;
            foreach (var c in cases)
            {
                using var x = RandomMatrix(c.Rows, c.Cols, c.Type);
                using var q = Fp8Gpu.Quantize(x, c.Grouping, c.Transpose);
                using var source = c.Transpose ? x.t().to(ScalarType.Float32).contiguous() : x.to(ScalarType.Float32).contiguous();
                var host = source.cpu().data<float>().ToArray();
                var cpu = c.Grouping == Fp8Grouping.Tile
                    ? TileQuantizer.Quantize(host, (int)q.Rows, (int)q.ReductionLength)
                    : BlockQuantizer.Quantize(host, (int)q.Rows, (int)q.ReductionLength);
                var (codeMismatches, padMismatches, scaleMismatches) = Compare(q, cpu);
                var ok = codeMismatches == 0 && padMismatches == 0 && scaleMismatches == 0;
                if (!ok) failures++;
                var name = $"quantise {c.Grouping} {(c.Transpose ? "transposed " : "")}{c.Type} {c.Rows}x{c.Cols} layout {layout} {(fast ? "reciprocal" : "division")}";
                Results.Say($"{(ok ? "PASS" : "FAIL")} {name}: code mismatches {codeMismatches}, padding {padMismatches}, scale mismatches {scaleMismatches} (of {cpu.Codes.Length} codes, {cpu.Scales.Length} scales)");
                results.Append("quantisation_bit_equality", new JsonObject
                {
                    ["case"] = name, ["codes"] = cpu.Codes.Length, ["code_mismatches"] = codeMismatches,
                    ["padding_mismatches"] = padMismatches, ["scale_mismatches"] = scaleMismatches, ["pass"] = ok,
                });
            }
        }
        QuantKernel.Fast = true;
        return failures;
    }

    private static (long Codes, long Padding, long Scales) Compare(GpuFp8Operand q, ScaledFp8Matrix cpu)
    {
        var codes = q.Codes.cpu().data<byte>().ToArray();
        var scales = q.Scales.cpu().data<float>().ToArray();
        long codeMismatches = 0, padMismatches = 0, scaleMismatches = 0;
        var padded = q.PaddedLength;
        for (long r = 0; r < q.Rows; r++)
        {
            for (long c = 0; c < padded; c++)
            {
                var gpu = codes[(r * padded) + c];
                if (c >= cpu.Columns) { if (gpu != 0) padMismatches++; }
                else if (gpu != cpu.Codes[(r * cpu.Columns) + c]) codeMismatches++;
            }
        }
        var kBlocks = padded / 128;
        var groups = q.Grouping == Fp8Grouping.Tile ? q.Rows : (q.Rows + 127) / 128;
        for (long g = 0; g < groups; g++)
        {
            for (long k = 0; k < kBlocks; k++)
            {
                var gpu = scales[q.ScaleIndex(g, k)];
                var reference = cpu.Scales[(g * cpu.ScaleColumns) + k];
                if (BitConverter.SingleToUInt32Bits(gpu) != BitConverter.SingleToUInt32Bits(reference)) scaleMismatches++;
            }
        }
        return (codeMismatches, padMismatches, scaleMismatches);
    }

    /// <summary>Dequantised values of an operand, [Rows, ReductionLength], float64 on the GPU.</summary>
    private static Tensor Dequantized(GpuFp8Operand q)
    {
        using var scope = NewDisposeScope();
        var codes = q.Codes.cpu().data<byte>().ToArray();
        var values = new float[codes.Length];
        Fp8Codec.Decode(codes, values, Fp8Format.E4M3);
        var kBlocks = q.PaddedLength / 128;
        var groups = q.ScaleGroups;
        var scaleGrid = q.Scales.cpu().to(ScalarType.Float64);
        scaleGrid = q.ScaleLayout == 0
            ? scaleGrid.view(-1, q.ScaleStride).narrow(0, 0, groups).narrow(1, 0, kBlocks)
            : scaleGrid.view(-1, q.ScaleStride).narrow(0, 0, kBlocks).narrow(1, 0, groups).t();
        var expanded = scaleGrid.repeat_interleave(128, 1);
        if (q.Grouping == Fp8Grouping.Block) expanded = expanded.repeat_interleave(128, 0).narrow(0, 0, q.Rows);
        var matrix = (tensor(values, [q.PaddedRows, q.PaddedLength], ScalarType.Float32).to(ScalarType.Float64).narrow(0, 0, q.Rows)
            * expanded.narrow(0, 0, q.Rows));
        return matrix.narrow(1, 0, q.ReductionLength).to(Cuda).MoveToOuterDisposeScope();
    }

    private static double RelativeError(Tensor output, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var o = output.to(ScalarType.Float64);
        return ((o - reference).norm() / reference.norm()).item<double>();
    }

    private static double GemmError(long m, long n, long k, Fp8Grouping aGrouping, Fp8Grouping bGrouping, ScalarType output)
    {
        using var a = RandomMatrix(m, k);
        using var b = RandomMatrix(n, k);
        // Also vary magnitude along k so that a misplaced scale shows.
        using var ramp = arange(0, k, device: Cuda).div(Scalars.Of(128.0)).floor().mul(Scalars.Of(0.7)).exp();
        using var aRamped = (a * ramp).contiguous();
        using var qa = Fp8Gpu.Quantize(aRamped, aGrouping);
        using var qb = Fp8Gpu.Quantize(b, bGrouping);
        using var d = Fp8Gpu.Gemm(qa, qb, output);
        using var da = Dequantized(qa);
        using var db = Dequantized(qb);
        using var reference = da.matmul(db.t());
        return RelativeError(d, reference);
    }

    // The tile layout is fixed (1, column-major: tile·tile products match); the block scales are tried
    // in each layout, with and without padding of their outer stride to 4, and with the operands handed
    // to cuBLASLt either way round. Shapes whose block grids are 3x5 and 5x3 tell them apart.
    private static int DetectLayouts(Results results)
    {
        (int Block, int Pad, bool Swap, double Error)? best = null;
        Fp8Gpu.TileScaleLayout = 1;
        foreach (var swap in new[] { false, true })
        {
            foreach (var block in new[] { 0, 1 })
            {
                foreach (var pad in new[] { 4, 1 })
                {
                    Fp8Gpu.BlockScaleLayout = block;
                    Fp8Gpu.BlockScalePad = pad;
                    Fp8Gpu.SwapOperands = swap;
                    var name = $"block layout {block} pad {pad} swap {swap}";
                    double error;
                    try
                    {
                        error = Math.Max(GemmError(256, 384, 640, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.BFloat16),
                            GemmError(256, 640, 384, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.BFloat16));
                    }
                    catch (CudaKernelException e)
                    {
                        Results.Say($"{name}: {e.Message}");
                        results.Append("scale_layouts", new JsonObject { ["case"] = name, ["error"] = e.Message });
                        continue;
                    }
                    Results.Say($"{name}: relative error {error:E3}");
                    results.Append("scale_layouts", new JsonObject { ["case"] = name, ["relative_error"] = error });
                    if (best is null || error < best.Value.Error) best = (block, pad, swap, error);
                }
            }
        }
        if (best is null) return 1;
        Fp8Gpu.BlockScaleLayout = best.Value.Block;
        Fp8Gpu.BlockScalePad = best.Value.Pad;
        Fp8Gpu.SwapOperands = best.Value.Swap;
        Results.Say($"scale layouts chosen: {Fp8Gpu.Settings} (error {best.Value.Error:E3})");
        results.Add("scale_layout_chosen", new JsonObject { ["settings"] = Fp8Gpu.Settings, ["relative_error"] = best.Value.Error });
        return best.Value.Error < 1e-2 ? 0 : 1;
    }

    private static int GemmChecks(Results results)
    {
        var failures = 0;
        (long M, long N, long K, Fp8Grouping A, Fp8Grouping B, ScalarType Out)[] cases =
        [
            (384, 256, 640, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.Float32),
            (384, 256, 640, Fp8Grouping.Tile, Fp8Grouping.Tile, ScalarType.BFloat16),
            (384, 256, 640, Fp8Grouping.Tile, Fp8Grouping.Tile, ScalarType.Float32),
            (1000, 384, 1024, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.BFloat16),
            (997, 384, 1024, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.BFloat16),
            (798, 512, 1024, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.Float32),
            (300, 288, 1000, Fp8Grouping.Tile, Fp8Grouping.Tile, ScalarType.Float32),
            (4096, 4096, 4096, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.BFloat16),
            (4096, 4096, 4096, Fp8Grouping.Tile, Fp8Grouping.Block, ScalarType.Float32),
        ];
        var float32Output = true;
        foreach (var c in cases)
        {
            var name = $"gemm {c.M}x{c.N}x{c.K} {c.A}·{c.B} -> {c.Out}";
            try
            {
                var error = GemmError(c.M, c.N, c.K, c.A, c.B, c.Out);
                var limit = c.Out == ScalarType.Float32 ? FloatLimit : 1e-2;
                var ok = error < limit;
                if (!ok) failures++;
                Results.Say($"{(ok ? "PASS" : "FAIL")} {name}: relative error vs fp64 of the dequantised inputs {error:E3} (limit {limit:E0})");
                results.Append("gemm_accuracy", new JsonObject { ["case"] = name, ["relative_error"] = error, ["limit"] = limit, ["pass"] = ok });
            }
            catch (CudaKernelException e)
            {
                if (c.Out == ScalarType.Float32) float32Output = false;
                else failures++;
                Results.Say($"{(c.Out == ScalarType.Float32 ? "NOTE" : "FAIL")} {name}: {e.Message}");
                results.Append("gemm_accuracy", new JsonObject { ["case"] = name, ["error"] = e.Message, ["pass"] = false });
            }
        }
        Fp8Gpu.ProjectionOutput = float32Output ? ScalarType.Float32 : ScalarType.BFloat16;
        Results.Say($"GEMM output for training: {Fp8Gpu.ProjectionOutput}");
        results.Add("gemm_output_for_training", Fp8Gpu.ProjectionOutput.ToString());
        return failures;
    }

    // The projection on the GPU (real FP8 GEMMs) against the emulation's formulas on the same CUDA tensors.
    private static int ProjectionCheck(Results results)
    {
        using var scope = NewDisposeScope();
        const long tokens = 1000, inFeatures = 640, outFeatures = 384;
        // Built inside a CUDA module-device scope, so that its parameter is created there (not moved).
        Projection projection;
        using (ModuleDevice.Use(Cuda)) projection = new Projection("p", (int)inFeatures, (int)outFeatures, GemmPrecision.Fp8);
        using (no_grad()) projection.Weight.copy_(randn(outFeatures, inFeatures, device: Cuda).mul(Scalars.Of(0.02)));
        var x = randn(tokens, inFeatures, device: Cuda).requires_grad_(true);
        var dy = randn(tokens, outFeatures, device: Cuda);
        var y = projection.forward(x);
        y.backward([dy]);
        var w = projection.Weight.detach();
        var yRef = Fp8FakeQuant.Tiles(x.detach()).to(ScalarType.Float64).matmul(Fp8FakeQuant.Blocks(w).to(ScalarType.Float64).t());
        var dxRef = Fp8FakeQuant.Tiles(dy).to(ScalarType.Float64).matmul(Fp8FakeQuant.Blocks(w).to(ScalarType.Float64));
        var dwRef = Fp8FakeQuant.Tiles(dy.t().contiguous()).to(ScalarType.Float64)
            .matmul(Fp8FakeQuant.Tiles(x.detach().t().contiguous()).to(ScalarType.Float64).t());
        var errors = new[] { RelativeError(y, yRef), RelativeError(x.grad!, dxRef), RelativeError(projection.Weight.grad!, dwRef) };
        var limit = Fp8Gpu.ProjectionOutput == ScalarType.Float32 ? FloatLimit : 1e-2;
        var ok = errors.All(e => e < limit);
        Results.Say($"{(ok ? "PASS" : "FAIL")} projection on GPU vs emulation formulas: y {errors[0]:E3}, dx {errors[1]:E3}, dw {errors[2]:E3} (limit {limit:E0})");
        results.Add("projection_vs_emulation", new JsonObject { ["y"] = errors[0], ["dx"] = errors[1], ["dw"] = errors[2], ["limit"] = limit, ["pass"] = ok });
        return ok ? 0 : 1;
    }
}
