using System.Runtime.InteropServices;
using TorchSharp;

namespace Orchestrator.Kernels.Native;

/// <summary>
/// Chooses where libtorch comes from before the first TorchSharp call: the libtorch-cpu package
/// shipped with the build (default), or an existing libtorch folder such as a PyTorch install's
/// <c>torch/lib</c> (GPU nodes bring their own CUDA libtorch).
/// </summary>
public static class LibTorchRuntime
{
    /// <summary>Environment variable naming a libtorch folder; the <c>--libtorch</c> option wins over it.</summary>
    public const string EnvironmentVariable = "ORCHESTRATOR_LIBTORCH";

    private static readonly object Gate = new();
    private static string? _source;

    /// <summary>Where libtorch was loaded from: "bundled" or the folder; null before <see cref="Initialize"/>.</summary>
    public static string? Source => _source;

    /// <summary>True once CUDA is usable through the loaded libtorch.</summary>
    public static bool CudaAvailable { get; private set; }

    /// <summary>
    /// Loads libtorch once per process. <paramref name="libTorchDirectory"/> (or the environment
    /// variable) selects an external libtorch; otherwise the bundled CPU build is used.
    /// </summary>
    public static void Initialize(string? libTorchDirectory = null)
    {
        lock (Gate)
        {
            var requested = libTorchDirectory ?? Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (string.IsNullOrWhiteSpace(requested)) requested = null;
            if (_source is not null)
            {
                if (requested is not null && _source != Path.GetFullPath(requested))
                    throw new InvalidOperationException(
                        $"libtorch is already loaded from '{_source}'; it cannot be switched to '{requested}' in the same process.");
                return;
            }

            if (requested is null)
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                _source = "bundled";
                return;
            }

            var folder = Path.GetFullPath(requested);
            LoadExternal(folder);
            _source = folder;
        }
    }

    private static void LoadExternal(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"libtorch folder '{folder}' (from --libtorch or {EnvironmentVariable}) does not exist.");
        if (!File.Exists(Path.Combine(folder, "libtorch_cpu.so")))
            throw new FileNotFoundException(
                $"'{folder}' is not a libtorch folder: it has no libtorch_cpu.so (a PyTorch install keeps it in site-packages/torch/lib).");

        // Order matters: each library's dependencies must already be resident when it loads.
        string[] order = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];
        foreach (var name in order)
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path)) NativeLibrary.Load(path);
        }

        NativeLibrary.Load(FindLibTorchSharp());
        var cuda = File.Exists(Path.Combine(folder, "libtorch_cuda.so"));
        torch.InitializeDeviceType(cuda ? DeviceType.CUDA : DeviceType.CPU);
        CudaAvailable = cuda && torch.cuda.is_available();
    }

    private static string FindLibTorchSharp()
    {
        var baseDir = AppContext.BaseDirectory;
        string[] candidates =
        [
            Path.Combine(baseDir, "libLibTorchSharp.so"),
            Path.Combine(baseDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
        ];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"libLibTorchSharp.so is not beside the application in '{baseDir}'.");
    }
}
