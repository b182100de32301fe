using BenchmarkDotNet.Attributes;
using Orchestrator.Kernels.Fp8;

namespace Orchestrator.Benchmarks.Fp8;

/// <summary>
/// E4M3 encode/decode of 1 Mi values against copying the same float32 bytes (4 MiB), in one run.
/// Throughput is quoted as float32 bytes per second (4 MiB / mean time) for all three.
/// </summary>
[Config(typeof(Fp8BenchConfig))]
public class Fp8CodecBenchmarks
{
    private const int Count = 1 << 20;
    private readonly float[] _floats = new float[Count];
    private readonly float[] _copy = new float[Count];
    private readonly byte[] _codes = new byte[Count];
    private readonly ushort[] _bf16 = new ushort[Count];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (var i = 0; i < Count; i++) _floats[i] = (float)((random.NextDouble() - 0.5) * 900);
        for (var i = 0; i < Count; i++) _bf16[i] = (ushort)(BitConverter.SingleToUInt32Bits(_floats[i]) >> 16);
        Fp8Codec.Encode(_floats, _codes, Fp8Format.E4M3);
    }

    [Benchmark(Baseline = true, Description = "copy float32 (4 MiB)")]
    public void Copy() => _floats.AsSpan().CopyTo(_copy);

    [Benchmark(Description = "E4M3 encode float32")]
    public void Encode() => Fp8Codec.Encode(_floats, _codes, Fp8Format.E4M3);

    [Benchmark(Description = "E4M3 decode to float32")]
    public void Decode() => Fp8Codec.Decode(_codes, _copy, Fp8Format.E4M3);

    [Benchmark(Description = "E4M3 encode bf16")]
    public void EncodeBfloat16() => Fp8Codec.Encode(_bf16, _codes, Fp8Format.E4M3);

    [Benchmark(Description = "E4M3 encode float32, scalar reference")]
    public void EncodeScalar()
    {
        for (var i = 0; i < Count; i++) _codes[i] = Fp8ScalarCodec.Encode(_floats[i], Fp8Format.E4M3);
    }
}
