using System.Globalization;
using System.Runtime.InteropServices;
using Orchestrator.Kernels.Gpu;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The calling thread's current CUDA device (CUDA keeps it per host thread): a rank's device thread
/// selects its GPU before anything GPU, so NCCL, cuBLASLt and the project's kernels work on the rank's
/// device and not on device 0. Uses the project's CUDA kernel library when it is loaded, otherwise the
/// CUDA runtime that libtorch already loaded (<c>cudaSetDevice</c>).
/// </summary>
public static unsafe class CudaDevice
{
    private static readonly string[] RuntimeNames = ["libcudart.so.13", "libcudart.so.12", "libcudart.so"];
    private static readonly Lazy<(IntPtr SetDevice, string Source)> Runtime = new(LoadRuntime);

    /// <summary>The index of a device slot name <c>cuda:N</c>, or null for any other slot (<c>cpu:N</c>).</summary>
    /// <exception cref="ArgumentException">The slot starts with <c>cuda:</c> but has no index.</exception>
    public static int? IndexOf(string slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (!slot.StartsWith("cuda:", StringComparison.Ordinal)) return null;
        return int.TryParse(slot.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : throw new ArgumentException($"device slot '{slot}': expected cuda:N with N a device index", nameof(slot));
    }

    /// <summary>Makes <paramref name="index"/> the calling thread's current CUDA device.</summary>
    /// <exception cref="InvalidOperationException">No CUDA runtime is loaded, or CUDA refused the device.</exception>
    public static void Select(int index)
    {
        if (CudaKernels.IsLoaded)
        {
            CudaKernels.SetDevice(index);
            return;
        }
        var (setDevice, source) = Runtime.Value;
        if (setDevice == IntPtr.Zero) throw new InvalidOperationException($"cannot select cuda:{index}: {source}");
        var code = ((delegate* unmanaged<int, int>)setDevice)(index);
        if (code != 0) throw new InvalidOperationException($"cudaSetDevice({index}) failed with CUDA error {code} ({source})");
    }

    private static (IntPtr, string) LoadRuntime()
    {
        foreach (var name in RuntimeNames)
        {
            if (NativeLibrary.TryLoad(name, out var handle) && NativeLibrary.TryGetExport(handle, "cudaSetDevice", out var setDevice))
                return (setDevice, name);
        }
        return (IntPtr.Zero, $"no CUDA runtime ({string.Join(", ", RuntimeNames)}) could be loaded and the CUDA kernel library is {CudaKernels.Status}");
    }
}
