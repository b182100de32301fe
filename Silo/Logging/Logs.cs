using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Orchestrator.Silo.Logging;

/// <summary>Serilog set-up shared by every command: console, and an optional JSON-lines file.</summary>
public static class Logs
{
    /// <summary>Configures the global logger; warnings and above go to standard error so that command output stays clean.</summary>
    public static void Configure(bool verbose, string? jsonFile)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            // Orleans and the hosting stack say a lot at Information; the orchestrator's own lines matter.
            .MinimumLevel.Override("Orleans", verbose ? LogEventLevel.Information : LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Polly", LogEventLevel.Warning)
            // Orleans advises Server GC at every start; Workstation GC is this executable's choice (Silo.csproj says why),
            // so the advice is noise a user cannot act on. Only those two notes are dropped.
            .Filter.ByExcluding(e => e.MessageTemplate.Text.StartsWith("Note: Silo not running with ServerGC", StringComparison.Ordinal)
                || e.MessageTemplate.Text.StartsWith("Note: ServerGC only kicks in", StringComparison.Ordinal))
            .Enrich.FromLogContext()
            .WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose);
        if (!string.IsNullOrWhiteSpace(jsonFile))
            configuration = configuration.WriteTo.File(new CompactJsonFormatter(), jsonFile);
        Log.Logger = configuration.CreateLogger();
    }
}
