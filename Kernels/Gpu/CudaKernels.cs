using System.Runtime.InteropServices;
using Orchestrator.Kernels.Native;

namespace Orchestrator.Kernels.Gpu;

/// <summary>
/// The project's CUDA library (<c>liborchestrator_cuda.so</c>, built from Kernels/cuda by nvcc on a GPU
/// node), loaded at run time through <see cref="NativeLibrary"/>. Nothing loads it on a CPU machine;
/// callers ask <see cref="TryLoad"/> and fall back when it is absent.
/// </summary>
public static unsafe class CudaKernels
{
    /// <summary>Environment variable naming the library file (or the folder holding it).</summary>
    public const string EnvironmentVariable = "ORCHESTRATOR_CUDA_KERNELS";

    /// <summary>File name of the library.</summary>
    public const string FileName = "liborchestrator_cuda.so";

    /// <summary>The C ABI version this binding was written against (orch_abi_version).</summary>
    public const int AbiVersion = 2;

    private static readonly OptionalLibrary<Api> Library = new("CUDA kernel library", FileName, EnvironmentVariable, "Kernels/cuda/build.sh", Api.Load);

    /// <summary>True once the library is loaded and its ABI matches.</summary>
    public static bool IsLoaded => Library.Api is not null;

    /// <summary>Where the library was loaded from, or why it was not (for the log).</summary>
    public static string Status => Library.Status;

    /// <summary>
    /// Loads the library once: from <paramref name="path"/>, else from <see cref="EnvironmentVariable"/>.
    /// Returns false (with the reason in <see cref="Status"/>) when neither names a usable library.
    /// </summary>
    public static bool TryLoad(string? path = null) => Library.TryLoad(path);

    /// <summary>The file a path names: the path itself, or <see cref="FileName"/> inside a folder.</summary>
    public static string ResolvePath(string path) => Library.Resolve(path);

    internal static Api Native => Library.Api ?? throw new InvalidOperationException(
        $"the CUDA kernel library is {Status}; FP8 GPU kernels need it (Kernels/cuda/build.sh, then {EnvironmentVariable})");

    /// <summary>Throws with the library's own message when a call returned non-zero.</summary>
    internal static void Check(int code, string what)
    {
        if (code == 0) return;
        var message = Marshal.PtrToStringUTF8((IntPtr)Native.LastError()) ?? "no message";
        throw new CudaKernelException($"{what}: {message}");
    }

    /// <summary>Makes <paramref name="device"/> the calling thread's current CUDA device.</summary>
    public static void SetDevice(int device) => Check(Native.SetDevice(device), $"select cuda:{device}");

    /// <summary>Waits for all work on the current device.</summary>
    public static void Synchronize() => Check(Native.Synchronize(), "synchronize");

    /// <summary>Bytes in use on the current device (total − free, as the driver reports it).</summary>
    public static long MemoryUsed()
    {
        long used;
        Check(Native.MemoryUsed(&used), "memory info");
        return used;
    }

    internal sealed class Api
    {
        public required string Path { get; init; }
        public required delegate* unmanaged<byte*> LastError { get; init; }
        public required delegate* unmanaged<int, int> SetDevice { get; init; }
        public required delegate* unmanaged<int> Synchronize { get; init; }
        public required delegate* unmanaged<long*, int> MemoryUsed { get; init; }
        public required delegate* unmanaged<IntPtr*, int> EventCreate { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, int> EventRecord { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, float*, int> EventElapsed { get; init; }
        public required delegate* unmanaged<IntPtr, int> EventDestroy { get; init; }
        public required delegate* unmanaged<IntPtr, int, long, long, int, int, IntPtr, IntPtr, int, long, IntPtr, int> Quantize { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, int, IntPtr, int, long, long, long, int, IntPtr, int> Gemm { get; init; }

        public static Api Load(string path)
        {
            var handle = NativeLibrary.Load(path);
            var version = ((delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "orch_abi_version"))();
            if (version != AbiVersion)
                throw new InvalidOperationException($"'{path}' has ABI version {version}; this build expects {AbiVersion} (rebuild it from Kernels/cuda)");
            IntPtr Get(string name) => NativeLibrary.GetExport(handle, name);
            return new Api
            {
                Path = path,
                LastError = (delegate* unmanaged<byte*>)Get("orch_last_error"),
                SetDevice = (delegate* unmanaged<int, int>)Get("orch_set_device"),
                Synchronize = (delegate* unmanaged<int>)Get("orch_synchronize"),
                MemoryUsed = (delegate* unmanaged<long*, int>)Get("orch_memory_used"),
                EventCreate = (delegate* unmanaged<IntPtr*, int>)Get("orch_event_create"),
                EventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)Get("orch_event_record"),
                EventElapsed = (delegate* unmanaged<IntPtr, IntPtr, float*, int>)Get("orch_event_elapsed_ms"),
                EventDestroy = (delegate* unmanaged<IntPtr, int>)Get("orch_event_destroy"),
                Quantize = (delegate* unmanaged<IntPtr, int, long, long, int, int, IntPtr, IntPtr, int, long, IntPtr, int>)Get("orch_fp8_quantize"),
                Gemm = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, int, IntPtr, int, long, long, long, int, IntPtr, int>)Get("orch_fp8_gemm"),
            };
        }
    }
}

/// <summary>A call into the CUDA kernel library failed; the message is the library's own.</summary>
public sealed class CudaKernelException(string message) : Exception(message);
