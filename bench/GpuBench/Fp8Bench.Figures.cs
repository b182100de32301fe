using System.Text.Json.Nodes;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>The FP8 bench's figures: P1 (GEMM TFLOPS against bf16 matmul) and P3 (quantisation bandwidth against a copy).</summary>
internal static partial class Fp8Bench
{
    private static void GemmFigures(Results results)
    {
        (long M, long N, long K)[] shapes = [(8192, 8192, 8192), (4096, 7168, 16384), (16384, 4096, 7168), (8192, 7168, 2048), (4096, 4096, 7168), (16384, 7168, 2048)];
        foreach (var (m, n, k) in shapes)
        {
            using var scope = NewDisposeScope();
            var x = randn(m, k, device: Cuda);
            var w = randn(n, k, device: Cuda);
            var xb = x.to(ScalarType.BFloat16);
            var wb = w.to(ScalarType.BFloat16);
            var flops = 2.0 * m * n * k;
            var bf16 = Timing.MedianMs(() => { using var y = nn.functional.linear(xb, wb); });
            using var qx = Fp8Gpu.Quantize(x, Fp8Grouping.Tile);
            using var qw = Fp8Gpu.Quantize(w, Fp8Grouping.Block);
            var fp8 = Timing.MedianMs(() => { using var y = Fp8Gpu.Gemm(qx, qw, ScalarType.BFloat16); });
            var fp8WithQuant = Timing.MedianMs(() =>
            {
                using var q = Fp8Gpu.Quantize(xb, Fp8Grouping.Tile);
                using var y = Fp8Gpu.Gemm(q, qw, ScalarType.BFloat16);
            });
            double? fp8Float32 = null;
            try { fp8Float32 = Timing.MedianMs(() => { using var y = Fp8Gpu.Gemm(qx, qw, ScalarType.Float32); }); }
            catch (CudaKernelException) { }
            var tf = (double ms) => flops / (ms * 1e-3) / 1e12;
            Results.Say($"P1 {m}x{n}x{k}: bf16 {tf(bf16):F0} TFLOPS, fp8 block-scaled {tf(fp8):F0} ({tf(fp8) / tf(bf16):F2}x), fp8 incl. activation quantisation {tf(fp8WithQuant):F0}" +
                        (fp8Float32 is { } f ? $", fp8 fp32-out {tf(f):F0}" : ""));
            results.Append("p1_gemm", new JsonObject
            {
                ["m"] = m, ["n"] = n, ["k"] = k,
                ["bf16_ms"] = bf16, ["bf16_tflops"] = tf(bf16),
                ["fp8_ms"] = fp8, ["fp8_tflops"] = tf(fp8), ["fp8_over_bf16"] = tf(fp8) / tf(bf16),
                ["fp8_with_activation_quant_tflops"] = tf(fp8WithQuant),
                ["fp8_float32_out_tflops"] = fp8Float32 is { } g ? tf(g) : null,
            });
        }
    }

    private static void QuantisationFigures(Results results)
    {
        // Kernel bandwidth: 20 launches back to back into the same buffers, timed as one span (so host-side
        // allocation and launch overhead between launches is not counted), against 20 copies of the input.
        const long rows = 16384, cols = 7168;
        const int launches = 20;
        foreach (var type in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var scope = NewDisposeScope();
            var x = randn(rows, cols, device: Cuda).to(type);
            var copy = empty_like(x);
            var elementBytes = type == ScalarType.Float32 ? 4.0 : 2.0;
            var n = (double)rows * cols;
            var copyMs = Timing.MedianMs(() => { for (var i = 0; i < launches; i++) copy.copy_(x); }, warmups: 1, repetitions: 5) / launches;
            var copyBandwidth = 2 * n * elementBytes / (copyMs * 1e-3) / 1e9;
            foreach (var (grouping, transpose) in new[] { (Fp8Grouping.Tile, false), (Fp8Grouping.Tile, true), (Fp8Grouping.Block, false), (Fp8Grouping.Block, true) })
            {
                using var q = Fp8Gpu.Quantize(x, grouping, transpose);
                var scales = grouping == Fp8Grouping.Tile ? n / 128 : n / (128 * 128);
                var bytes = (n * elementBytes) + n + (4 * scales);
                var entry = new JsonObject
                {
                    ["grouping"] = grouping.ToString(), ["transposed"] = transpose, ["dtype"] = type.ToString(), ["rows"] = rows, ["cols"] = cols,
                    ["copy_ms"] = copyMs, ["copy_gb_per_s"] = copyBandwidth,
                };
                foreach (var fast in new[] { false, true })
                {
                    QuantKernel.Fast = fast;
                    var ms = Timing.MedianMs(() => { for (var i = 0; i < launches; i++) QuantKernel.Requantize(x, q, transpose); }, warmups: 1, repetitions: 5) / launches;
                    var bandwidth = bytes / (ms * 1e-3) / 1e9;
                    var encoder = fast ? "reciprocal" : "division";
                    Results.Say($"P3 quantise {grouping}{(transpose ? " transposed" : "")} {type} {rows}x{cols} ({encoder}): {ms * 1000:F0} us, {bandwidth:F0} GB/s vs copy {copyBandwidth:F0} GB/s = {bandwidth / copyBandwidth:P0}");
                    entry[$"{encoder}_ms"] = ms;
                    entry[$"{encoder}_gb_per_s"] = bandwidth;
                    entry[$"{encoder}_fraction_of_copy"] = bandwidth / copyBandwidth;
                }
                QuantKernel.Fast = true;
                // Through the API (allocation and launch overhead included), as the training step calls it.
                var apiMs = Timing.MedianMs(() => { using var again = Fp8Gpu.Quantize(x, grouping, transpose); });
                entry["api_ms"] = apiMs;
                entry["api_fraction_of_copy"] = bytes / (apiMs * 1e-3) / 1e9 / copyBandwidth;
                entry["fraction_of_copy"] = entry["reciprocal_fraction_of_copy"]!.GetValue<double>();
                results.Append("p3_quantise", entry);
            }
        }
    }
}
