using Orchestrator.Kernels.Training;

namespace Orchestrator.GpuBench;

/// <summary>Uniform random tokens, a function of (seed, step, micro-step): throughput runs need no corpus.</summary>
internal sealed class RandomTokens(int vocabulary, ulong seed) : IBatchSource
{
    public int VocabSize => vocabulary;

    public void Fill(long step, int microStep, Span<long> destination)
    {
        var random = new Random(HashCode.Combine(seed, step, microStep));
        for (var i = 0; i < destination.Length; i++) destination[i] = random.Next(vocabulary);
    }
}
