using Orchestrator.Kernels.Native;

namespace Orchestrator.Kernels.Gpu;

/// <summary>What a CUDA device found of the optional native libraries: the FP8 kernels and the ATen bridge.</summary>
/// <param name="Fp8Kernels">Whether the CUDA kernel library is loaded (real FP8 GEMMs); otherwise FP8 is emulated.</param>
/// <param name="Fp8Status">The kernel library's load status (its path, or why not).</param>
/// <param name="Fp8Settings">The FP8 GPU settings in force (<see cref="Fp8Gpu.Settings"/>).</param>
/// <param name="Bridge">Whether the ATen bridge is loaded and in use.</param>
/// <param name="BridgeStatus">The bridge's load status (its path, or why not).</param>
/// <param name="BridgeOperations">The operations that go through the bridge.</param>
public sealed record GpuLibraryStatus(bool Fp8Kernels, string Fp8Status, string Fp8Settings, bool Bridge, string BridgeStatus, AtenOperations BridgeOperations)
{
    /// <summary>One line for a log: what runs natively and what falls back.</summary>
    public override string ToString() =>
        $"FP8 GEMMs {(Fp8Kernels ? $"cuBLASLt, CUDA kernels {Fp8Status} ({Fp8Settings})" : $"emulated (CUDA kernels {Fp8Status})")}; " +
        $"ATen bridge {BridgeStatus}{(Bridge ? $": {BridgeOperations} through it" : ": plain TorchSharp ops")}";
}

/// <summary>
/// Loads, once per process, the optional native libraries a CUDA device uses — the CUDA kernel library
/// (<c>ORCHESTRATOR_CUDA_KERNELS</c>, with <c>ORCHESTRATOR_FP8_GPU</c>'s settings) and the ATen bridge
/// (<c>ORCHESTRATOR_ATEN_BRIDGE</c>) — so that the CLI's <c>train</c> and a cluster's GPU ranks take the same native
/// paths. Absent libraries are no error: the plain TorchSharp paths run, and the status says why.
/// </summary>
public static class GpuLibraries
{
    private static readonly Lock Gate = new();
    private static GpuLibraryStatus? _loaded;

    /// <summary>Loads both libraries (the first call; later calls return the same status).</summary>
    public static GpuLibraryStatus Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            Fp8Gpu.Configure(Environment.GetEnvironmentVariable(Fp8Gpu.EnvironmentVariable));
            var kernels = CudaKernels.TryLoad();
            AtenBridge.TryLoad();
            return _loaded = new GpuLibraryStatus(kernels, CudaKernels.Status, Fp8Gpu.Settings, AtenBridge.InUse, AtenBridge.Status, AtenBridge.Operations);
        }
    }
}
