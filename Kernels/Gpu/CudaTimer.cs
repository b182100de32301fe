namespace Orchestrator.Kernels.Gpu;

/// <summary>Times device work on the default stream with a pair of CUDA events.</summary>
public sealed unsafe class CudaTimer : IDisposable
{
    private readonly IntPtr _start;
    private readonly IntPtr _stop;

    /// <summary>Creates the two events (the library must be loaded).</summary>
    public CudaTimer()
    {
        IntPtr start, stop;
        CudaKernels.Check(CudaKernels.Native.EventCreate(&start), "event create");
        CudaKernels.Check(CudaKernels.Native.EventCreate(&stop), "event create");
        _start = start;
        _stop = stop;
    }

    /// <summary>Records the start event.</summary>
    public void Start() => CudaKernels.Check(CudaKernels.Native.EventRecord(_start, IntPtr.Zero), "event record");

    /// <summary>Records the stop event, waits for it, and returns the milliseconds between the two.</summary>
    public double StopMilliseconds()
    {
        CudaKernels.Check(CudaKernels.Native.EventRecord(_stop, IntPtr.Zero), "event record");
        float ms;
        CudaKernels.Check(CudaKernels.Native.EventElapsed(_start, _stop, &ms), "event elapsed");
        return ms;
    }

    /// <summary>Destroys both events.</summary>
    public void Dispose()
    {
        if (!CudaKernels.IsLoaded) return;
        CudaKernels.Native.EventDestroy(_start);
        CudaKernels.Native.EventDestroy(_stop);
    }
}
