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

    public static readonly Option<string?> LogFormat = LogFormatOption();

    /// <summary>Configures logging from the parsed options.</summary>
    public static void StartLogging(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var format = result.GetValue(LogFormat) is { } name ? LogFormats.Parse(name) : null;
        Logs.Configure(result.GetValue(Verbose), result.GetValue(LogFile), format);
    }

    /// <summary>Loads libtorch as the options ask; call before any tensor work.</summary>
    public static void StartTorch(ParseResult result)
    {
        LibTorchRuntime.Initialize(result.GetValue(LibTorch));
        Serilog.Log.Information("libtorch: {Source}{Cuda}", LibTorchRuntime.Source, LibTorchRuntime.CudaAvailable ? " (CUDA available)" : "");
    }

    private static Option<string?> LogFormatOption()
    {
        var option = new Option<string?>("--log-format")
        {
            Description = "How log events are written to standard error: text, or json (one compact JSON object a line); default json when standard error is not a terminal, else text",
            Recursive = true,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } name && LogFormats.Parse(name) is null)
                result.AddError($"--log-format: expected {string.Join(" or ", LogFormats.Names)} (got \"{name}\")");
        });
        return option;
    }
}
