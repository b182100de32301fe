using System.Text.Json.Nodes;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// FP8 on the GPU: quantisation bit-equal to the CPU codec, the scale layouts cuBLASLt reads, GEMM
/// error against an FP64 product of the dequantised inputs, the GPU projection against the
/// emulation, then P1 (GEMM TFLOPS vs bf16 matmul) and P3 (quantisation bandwidth vs a copy).
/// </summary>
internal static partial class Fp8Bench
{
    private static readonly Device Cuda = new(DeviceType.CUDA, 0);

    // The tensor cores accumulate FP8 products in a reduced-precision register, promoted to FP32 every
    // 128 values; the CPU model of that (Kernels/Fp8 GemmPlan) puts the error at ~2.5e-4 of the product,
    // flat in K (BENCHMARKS.md). 5e-4 is that with a margin; the first run's 1e-4 was tighter than the
    // format allows (cuBLASLt measured 1.0–1.3e-4).
    private const double FloatLimit = 5e-4;

    public static int Run(BenchOptions options)
    {
        var results = new Results(options.Required("out"));
        var figures = options.Text("figures", "p1,p3");
        torch.manual_seed(20261129);
        var failures = BenchPhase.Run(results, "quantisation_checks", () => QuantisationChecks(results));
        var layoutFailure = BenchPhase.Run(results, "scale_layouts", () => DetectLayouts(results));
        failures += layoutFailure;
        // Without a block layout cuBLASLt reads right, the training runs must not use the GPU path.
        if (layoutFailure != 0) Fp8Gpu.Enabled = false;
        var enabled = Fp8Gpu.Enabled;
        Fp8Gpu.Enabled = true;
        failures += BenchPhase.Run(results, "gemm_checks", () => GemmChecks(results));
        failures += BenchPhase.Run(results, "projection_check", () => ProjectionCheck(results));
        var groupedFailure = BenchPhase.Run(results, "grouped_expert_check", () => GroupedExpertCheck.Run(results));
        failures += groupedFailure;
        Fp8Gpu.Enabled = enabled;
        results.Add("fp8_gpu_settings", Fp8Gpu.Settings);
        if (options.Text("settings-file", "") is { Length: > 0 } settingsFile) File.WriteAllText(settingsFile, Fp8Gpu.Settings);
        if (figures.Contains("p1", StringComparison.Ordinal)) failures += BenchPhase.Run(results, "p1", () => { GemmFigures(results); return 0; });
        if (figures.Contains("p3", StringComparison.Ordinal)) failures += BenchPhase.Run(results, "p3", () => { QuantisationFigures(results); return 0; });
        Results.Say($"fp8 checks: {failures} failed");
        results.Add("failed_checks", failures);
        return failures == 0 ? 0 : 1;
    }

    // Wide dynamic range: per-row magnitudes over ~±6 decades, a zero band, a subnormal-scale row.
    private static Tensor RandomMatrix(long rows, long columns, ScalarType type = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var x = randn(rows, columns, device: Cuda) * randn(rows, 1, device: Cuda).mul(Scalars.Of(3.0)).exp();
        x[TensorIndex.Slice(0, Math.Min(3, rows))] = zeros(Math.Min(3, rows), columns, device: Cuda);
        if (rows > 5) x[TensorIndex.Single(4)] = x[TensorIndex.Single(4)].mul(Scalars.Of(1e-39));
        return x.to(type).contiguous().MoveToOuterDisposeScope();
    }
}
