using BenchmarkDotNet.Attributes;
using Orchestrator.Kernels.Fp8;
using Orchestrator.Kernels.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Fp8;

/// <summary>
/// The FP8-emulated GEMM (M = N = K = 512, 268 MFLOP) against TorchSharp's float32 matmul of the same
/// shape, with 1 and 2 threads on both sides (single-threaded figures suffer less from a shared machine).
/// GFLOP/s = 2·M·N·K / mean time.
/// </summary>
[Config(typeof(Fp8BenchConfig))]
public class Fp8GemmBenchmarks
{
    private const int Size = 512;
    private ScaledFp8Matrix _a = null!;
    private ScaledFp8Matrix _b = null!;
    private Tensor _ta = null!;
    private Tensor _tb = null!;
    private Tensor _tbContiguous = null!;
    private ScaledFp8GemmOptions _promoted = null!;
    private ScaledFp8GemmOptions _unpromoted = null!;
    private ScaledFp8GemmOptions _fp32 = null!;

    /// <summary>Threads for TorchSharp (intra-op) and for the FP8 GEMM's row loop.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        LibTorchRuntime.Initialize();
        torch.set_num_threads(Threads);
        _promoted = new ScaledFp8GemmOptions { MaxDegreeOfParallelism = Threads };
        _unpromoted = _promoted with { Accumulation = Fp8Accumulation.LimitedWithoutPromotion };
        _fp32 = _promoted with { Accumulation = Fp8Accumulation.Fp32 };
        var random = new Random(3);
        var a = Enumerable.Range(0, Size * Size).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, Size * Size).Select(_ => (float)random.NextDouble()).ToArray();
        _a = TileQuantizer.Quantize(a, Size, Size);
        _b = BlockQuantizer.Quantize(b, Size, Size);
        _ta = tensor(a, [Size, Size]);
        _tb = tensor(b, [Size, Size]).t(); // a view: matmul reads B[N,K] transposed, as the FP8 GEMM does
        _tbContiguous = _tb.contiguous();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ta.Dispose();
        _tb.Dispose();
        _tbContiguous.Dispose();
    }

    [Benchmark(Baseline = true, Description = "TorchSharp float32 matmul A·Bᵀ")]
    public void TorchFloat32()
    {
        using var c = _ta.matmul(_tb);
    }

    [Benchmark(Description = "TorchSharp float32 matmul A·(Bᵀ contiguous)")]
    public void TorchFloat32Contiguous()
    {
        using var c = _ta.matmul(_tbContiguous);
    }

    [Benchmark(Description = "FP8 GEMM, 14-bit + promotion N_C=128")]
    public float[] Promoted() => ScaledFp8Gemm.Multiply(_a, _b, _promoted);

    [Benchmark(Description = "FP8 GEMM, 14-bit, no promotion")]
    public float[] Unpromoted() => ScaledFp8Gemm.Multiply(_a, _b, _unpromoted);

    [Benchmark(Description = "FP8 GEMM, FP32 accumulate")]
    public float[] Fp32() => ScaledFp8Gemm.Multiply(_a, _b, _fp32);
}
