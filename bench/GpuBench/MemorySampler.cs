using Orchestrator.Kernels.Gpu;

namespace Orchestrator.GpuBench;

/// <summary>Samples device memory in use (driver's total − free) every 10 ms on its own thread and keeps the peak.</summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly Thread _thread;
    private readonly int _device;
    private volatile bool _stop;
    private long _peak;

    public MemorySampler(int device)
    {
        _device = device;
        Baseline = CudaKernels.MemoryUsed();
        _thread = new Thread(Loop) { IsBackground = true, Name = "memory sampler" };
        _thread.Start();
    }

    /// <summary>Bytes in use when sampling began.</summary>
    public long Baseline { get; }

    /// <summary>Largest bytes in use seen so far.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    private void Loop()
    {
        CudaKernels.SetDevice(_device);
        while (!_stop)
        {
            var used = CudaKernels.MemoryUsed();
            if (used > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, used);
            Thread.Sleep(10);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
