using BenchmarkDotNet.Attributes;
using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Benchmarks.Fp8;

/// <summary>Block quantisation of a 1024×2048 float32 matrix (8 MiB): max-abs pass + scaled encode.</summary>
[Config(typeof(Fp8BenchConfig))]
public class Fp8QuantizeBenchmarks
{
    private const int Rows = 1024;
    private const int Columns = 2048;
    private readonly float[] _values = new float[Rows * Columns];
    private readonly float[] _copy = new float[Rows * Columns];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        for (var i = 0; i < _values.Length; i++) _values[i] = (float)((random.NextDouble() - 0.5) * 4);
    }

    [Benchmark(Baseline = true, Description = "copy float32 (8 MiB)")]
    public void Copy() => _values.AsSpan().CopyTo(_copy);

    [Benchmark(Description = "TileQuantizer 1x128")]
    public ScaledFp8Matrix Tiles() => TileQuantizer.Quantize(_values, Rows, Columns);

    [Benchmark(Description = "BlockQuantizer 128x128")]
    public ScaledFp8Matrix Blocks() => BlockQuantizer.Quantize(_values, Rows, Columns);

    [Benchmark(Description = "TileQuantizer 1x128, power-of-two scales")]
    public ScaledFp8Matrix TilesPowerOfTwo() => TileQuantizer.Quantize(_values, Rows, Columns, Fp8ScaleMode.PowerOfTwo);
}
