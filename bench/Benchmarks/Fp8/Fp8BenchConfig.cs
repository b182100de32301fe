using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Orchestrator.Benchmarks.Fp8;

/// <summary>
/// Short in-process runs: the machine has 2 shared cores, so a few iterations per case, and no
/// per-benchmark project build (in-process also keeps libtorch's native loading in one place).
/// </summary>
public sealed class Fp8BenchConfig : ManualConfig
{
    public Fp8BenchConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(2).WithIterationCount(5));
    }
}
