using System.CommandLine;
using Orchestrator.Kernels.Native;
using Orchestrator.Silo.Logging;

namespace Orchestrator.Silo.Cli;

/// <summary>Options every command accepts, and the start-up they drive.</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> LibTorch = new("--libtorch")
    {
        Description = $"Folder of an existing libtorch (e.g. a PyTorch install's site-packages/torch/lib) to use instead of the bundled CPU build; also ${LibTorchRuntime.EnvironmentVariable}",
        Recursive = true,
    };

    public static readonly Option<string?> LogFile = new("--log-json")
    {
        Description = "Also write structured logs (compact JSON lines) to this file",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log debug detail",
        Recursive = true,
    };

    /// <summary>Configures logging from the parsed options.</summary>
    public static void StartLogging(ParseResult result) =>
        Logs.Configure(result.GetValue(Verbose), result.GetValue(LogFile));

    /// <summary>Loads libtorch as the options ask; call before any tensor work.</summary>
    public static void StartTorch(ParseResult result)
    {
        LibTorchRuntime.Initialize(result.GetValue(LibTorch));
        Serilog.Log.Information("libtorch: {Source}{Cuda}", LibTorchRuntime.Source, LibTorchRuntime.CudaAvailable ? " (CUDA available)" : "");
    }
}
