using System.Runtime.InteropServices;

namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// libnccl (NVIDIA's collective library) bound at run time through <see cref="NativeLibrary"/>: the
/// handful of calls <see cref="NcclCollective"/> needs. GPU nodes have it beside PyTorch
/// (<c>site-packages/nvidia/nccl/lib/libnccl.so.2</c>); nothing loads it on a CPU machine.
/// </summary>
public static unsafe class NcclNative
{
    /// <summary>Environment variable naming libnccl (a file or a folder); otherwise the loader's search path.</summary>
    public const string EnvironmentVariable = "ORCHESTRATOR_NCCL";

    /// <summary>The library's file name.</summary>
    public const string FileName = "libnccl.so.2";

    /// <summary>Bytes of an <c>ncclUniqueId</c>.</summary>
    public const int UniqueIdBytes = 128;

    private static readonly object Gate = new();
    private static Api? _api;
    private static string? _failure;

    /// <summary>True once libnccl is loaded.</summary>
    public static bool IsLoaded => _api is not null;

    /// <summary>Where libnccl was loaded from, or why not.</summary>
    public static string Status => _api is not null ? $"loaded from {_api.Source} (NCCL {_api.Version})" : _failure ?? "not loaded";

    /// <summary>Loads libnccl once from <paramref name="path"/>, the environment variable, or the search path.</summary>
    public static bool TryLoad(string? path = null)
    {
        lock (Gate)
        {
            if (_api is not null) return true;
            var requested = path ?? Environment.GetEnvironmentVariable(EnvironmentVariable);
            var source = string.IsNullOrWhiteSpace(requested) ? FileName
                : Directory.Exists(requested) ? Path.Combine(requested, FileName) : requested;
            try
            {
                _api = Api.Load(source);
                return true;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                _failure = $"not loaded: '{source}' could not be loaded ({e.Message}); on a GPU node set {EnvironmentVariable} to site-packages/nvidia/nccl/lib";
                return false;
            }
        }
    }

    internal static Api Native => _api ?? throw new InvalidOperationException($"libnccl is {Status}");

    internal static void Check(int result, string what)
    {
        if (result == 0) return;
        var text = Marshal.PtrToStringUTF8((IntPtr)Native.GetErrorString(result)) ?? "unknown";
        throw new NcclException($"{what}: NCCL error {result} ({text})");
    }

    /// <summary>A fresh communicator id (rank 0 makes it and hands it to the others out of band).</summary>
    public static byte[] CreateUniqueId()
    {
        var id = new NcclUniqueId();
        Check(Native.GetUniqueId(&id), "ncclGetUniqueId");
        var bytes = new byte[UniqueIdBytes];
        new ReadOnlySpan<byte>(id.Bytes, UniqueIdBytes).CopyTo(bytes);
        return bytes;
    }

    /// <summary>The 128-byte id, passed by value as C's <c>ncclUniqueId</c>.</summary>
    [StructLayout(LayoutKind.Sequential, Size = UniqueIdBytes)]
    internal struct NcclUniqueId
    {
        public fixed byte Bytes[UniqueIdBytes];
    }

    internal sealed class Api
    {
        public required string Source { get; init; }
        public required int Version { get; init; }
        public required delegate* unmanaged<int, byte*> GetErrorString { get; init; }
        public required delegate* unmanaged<NcclUniqueId*, int> GetUniqueId { get; init; }
        public required delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int> CommInitRank { get; init; }
        public required delegate* unmanaged<IntPtr, int> CommDestroy { get; init; }
        public required delegate* unmanaged<IntPtr, int> CommAbort { get; init; }
        public required delegate* unmanaged<int> GroupStart { get; init; }
        public required delegate* unmanaged<int> GroupEnd { get; init; }
        public required delegate* unmanaged<IntPtr, nuint, int, int, IntPtr, IntPtr, int> Send { get; init; }
        public required delegate* unmanaged<IntPtr, nuint, int, int, IntPtr, IntPtr, int> Recv { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> AllReduce { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, IntPtr, int> AllGather { get; init; }

        public static Api Load(string source)
        {
            var handle = NativeLibrary.Load(source);
            IntPtr Get(string name) => NativeLibrary.GetExport(handle, name);
            int version;
            ((delegate* unmanaged<int*, int>)Get("ncclGetVersion"))(&version);
            return new Api
            {
                Source = source,
                Version = version,
                GetErrorString = (delegate* unmanaged<int, byte*>)Get("ncclGetErrorString"),
                GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)Get("ncclGetUniqueId"),
                CommInitRank = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)Get("ncclCommInitRank"),
                CommDestroy = (delegate* unmanaged<IntPtr, int>)Get("ncclCommDestroy"),
                CommAbort = (delegate* unmanaged<IntPtr, int>)Get("ncclCommAbort"),
                GroupStart = (delegate* unmanaged<int>)Get("ncclGroupStart"),
                GroupEnd = (delegate* unmanaged<int>)Get("ncclGroupEnd"),
                Send = (delegate* unmanaged<IntPtr, nuint, int, int, IntPtr, IntPtr, int>)Get("ncclSend"),
                Recv = (delegate* unmanaged<IntPtr, nuint, int, int, IntPtr, IntPtr, int>)Get("ncclRecv"),
                AllReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)Get("ncclAllReduce"),
                AllGather = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, IntPtr, int>)Get("ncclAllGather"),
            };
        }
    }
}

/// <summary>An NCCL call failed.</summary>
public sealed class NcclException(string message) : Exception(message);
