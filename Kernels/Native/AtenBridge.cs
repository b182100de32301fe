using System.Runtime.InteropServices;

namespace Orchestrator.Kernels.Native;

/// <summary>
/// The native bridge to ATen (<c>liborchestrator_aten.so</c>, built from Kernels/native by build.sh on a GPU node
/// against the libtorch loaded there), loaded at run time through <see cref="NativeLibrary"/> exactly like the CUDA
/// kernel library: from <see cref="EnvironmentVariable"/>, else not at all, and then every caller keeps the plain
/// TorchSharp path. The operations themselves are in <see cref="AtenOps"/>.
/// </summary>
public static unsafe class AtenBridge
{
    /// <summary>Environment variable naming the library file (or the folder holding it).</summary>
    public const string EnvironmentVariable = "ORCHESTRATOR_ATEN_BRIDGE";

    /// <summary>File name of the library.</summary>
    public const string FileName = "liborchestrator_aten.so";

    /// <summary>The C ABI version this binding was written against (orch_aten_abi_version).</summary>
    public const int AbiVersion = 1;

    private static readonly OptionalLibrary<Api> Library = new("ATen bridge", FileName, EnvironmentVariable, "Kernels/native/build.sh", Api.Load);

    /// <summary>True once the library is loaded and its ABI matches.</summary>
    public static bool IsLoaded => Library.Api is not null;

    /// <summary>Where the library was loaded from, or why it was not (for the log).</summary>
    public static string Status => Library.Status;

    /// <summary>
    /// When false, the callers in the model and the trainer take the plain TorchSharp path even with the library
    /// loaded (the GPU bench compares both in one process). True by default.
    /// </summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>Environment variable listing the operations the model and trainer take through the bridge (default: all).</summary>
    public const string OperationsVariable = "ORCHESTRATOR_ATEN_BRIDGE_OPS";

    /// <summary>
    /// The operations the model and trainer take through the bridge when it is in use: all by default, else what
    /// <see cref="OperationsVariable"/> lists (read by <see cref="TryLoad"/>).
    /// </summary>
    public static AtenOperations Operations { get; set; } = AtenOperations.All;

    /// <summary>True when the bridge is loaded and <see cref="Enabled"/>: the model and trainer then use it.</summary>
    public static bool InUse => Enabled && IsLoaded;

    /// <summary>True when the bridge is in use for <paramref name="operation"/>.</summary>
    public static bool Uses(AtenOperations operation) => InUse && (Operations & operation) == operation;

    /// <summary>
    /// Reads a comma-separated list of <c>grouped_mm</c>, <c>fused_adamw</c>, <c>rms_norm</c> (or <c>all</c>, the
    /// default when null or empty); an unknown name is refused with the list of known ones.
    /// </summary>
    public static AtenOperations ParseOperations(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return AtenOperations.All;
        var result = AtenOperations.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result |= part switch
            {
                "all" => AtenOperations.All,
                "none" => AtenOperations.None,
                "grouped_mm" => AtenOperations.GroupedMm,
                "fused_adamw" => AtenOperations.FusedAdamW,
                "rms_norm" => AtenOperations.RmsNorm,
                _ => throw new ArgumentException($"{OperationsVariable}: unknown operation \"{part}\" (grouped_mm, fused_adamw, rms_norm, all, none)", nameof(text)),
            };
        }
        return result;
    }

    /// <summary>
    /// Loads the library once: from <paramref name="path"/>, else from <see cref="EnvironmentVariable"/>.
    /// Returns false (with the reason in <see cref="Status"/>) when neither names a usable library; an unknown name in
    /// <see cref="OperationsVariable"/> is refused with <see cref="ArgumentException"/>. libtorch must
    /// already be loaded (<see cref="LibTorchRuntime.Initialize"/>): the bridge links against it.
    /// </summary>
    public static bool TryLoad(string? path = null) => Library.TryLoad(path, () => Operations = ParseOperations(Environment.GetEnvironmentVariable(OperationsVariable)));

    /// <summary>The file a path names: the path itself, or <see cref="FileName"/> inside a folder.</summary>
    public static string ResolvePath(string path) => Library.Resolve(path);

    internal static Api Native => Library.Api ?? throw new InvalidOperationException(
        $"the ATen bridge is {Status}; load it first (Kernels/native/build.sh, then {EnvironmentVariable})");

    /// <summary>Throws <see cref="AtenBridgeException"/> with the C++ exception's message when a call returned non-zero.</summary>
    internal static void Check(int code)
    {
        if (code == 0) return;
        var message = Marshal.PtrToStringUTF8((IntPtr)Native.LastError()) ?? "no message";
        throw new AtenBridgeException(message);
    }

    /// <summary>The libtorch version the bridge was compiled against ("major.minor"), or "unknown".</summary>
    public static string TorchVersion()
    {
        int major, minor;
        Check(Native.TorchVersion(&major, &minor));
        return major < 0 ? "unknown" : $"{major}.{minor}";
    }

    internal sealed class Api
    {
        public required string Path { get; init; }
        public required delegate* unmanaged<byte*> LastError { get; init; }
        public required delegate* unmanaged<int*, int*, int> TorchVersion { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, IntPtr, int, IntPtr*, int> GroupedMm { get; init; }
        public required delegate* unmanaged<IntPtr*, IntPtr*, IntPtr*, IntPtr*, long, IntPtr, double, double, double, double, double, int> FusedAdamW { get; init; }
        public required delegate* unmanaged<IntPtr, IntPtr, double, IntPtr*, int> RmsNorm { get; init; }

        public static Api Load(string path)
        {
            var handle = NativeLibrary.Load(path);
            var version = ((delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "orch_aten_abi_version"))();
            if (version != AbiVersion)
                throw new InvalidOperationException($"'{path}' has ABI version {version}; this build expects {AbiVersion} (rebuild it from Kernels/native)");
            IntPtr Get(string name) => NativeLibrary.GetExport(handle, name);
            return new Api
            {
                Path = path,
                LastError = (delegate* unmanaged<byte*>)Get("orch_aten_last_error"),
                TorchVersion = (delegate* unmanaged<int*, int*, int>)Get("orch_aten_torch_version"),
                GroupedMm = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, int, IntPtr*, int>)Get("orch_aten_grouped_mm"),
                FusedAdamW = (delegate* unmanaged<IntPtr*, IntPtr*, IntPtr*, IntPtr*, long, IntPtr, double, double, double, double, double, int>)Get("orch_aten_fused_adamw"),
                RmsNorm = (delegate* unmanaged<IntPtr, IntPtr, double, IntPtr*, int>)Get("orch_aten_rms_norm"),
            };
        }
    }
}

/// <summary>A call into the ATen bridge failed; the message is the C++ exception's own (a c10::Error's, without its backtrace).</summary>
public sealed class AtenBridgeException(string message) : Exception(message);
