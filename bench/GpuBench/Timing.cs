using Orchestrator.Kernels.Gpu;

namespace Orchestrator.GpuBench;

/// <summary>Median device time of an action, with CUDA events around each repetition, after warm-ups.</summary>
internal static class Timing
{
    public static double MedianMs(Action action, int warmups = 3, int repetitions = 20)
    {
        for (var i = 0; i < warmups; i++) action();
        CudaKernels.Synchronize();
        using var timer = new CudaTimer();
        var times = new double[repetitions];
        for (var i = 0; i < repetitions; i++)
        {
            timer.Start();
            action();
            times[i] = timer.StopMilliseconds();
        }
        Array.Sort(times);
        return times[repetitions / 2];
    }
}
