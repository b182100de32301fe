using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Support;

/// <summary>
/// Learnable synthetic token windows (arithmetic progressions mod vocab) that depend only on
/// (seed, step, micro-step), as the real loader does.
/// </summary>
public sealed class PatternBatchSource(int vocab, int rows, int window, ulong seed = 7) : IBatchSource
{
    public int VocabSize => vocab;

    public void Fill(long step, int microStep, Span<long> destination)
    {
        for (var r = 0; r < rows; r++)
        {
            var h = Mix(seed ^ (ulong)step * 0x9E3779B97F4A7C15UL ^ (ulong)(microStep * 1000 + r) * 0xBF58476D1CE4E5B9UL);
            var start = (long)(h % (ulong)vocab);
            var stride = 1 + (long)(h >> 32) % 3;
            for (var i = 0; i < window; i++) destination[r * window + i] = (start + i * stride) % vocab;
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
