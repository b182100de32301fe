using Serilog;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Templates;

namespace Orchestrator.Silo.Logging;

/// <summary>Serilog set-up shared by every command: console (text or JSON), and an optional JSON-lines file.</summary>
public static class Logs
{
    /// <summary>
    /// The JSON console format: compact JSON's field names (<c>@t</c>, <c>@l</c> only when not Information, <c>@x</c>,
    /// <c>@tr</c>/<c>@sp</c> for the span current when the event was written, then the properties), with the message
    /// rendered as the text format shows it (<c>@m</c>, strings unquoted), so a search for a log line's text finds it.
    /// </summary>
    private const string JsonTemplate =
        "{ {@t: UtcDateTime(@t), @l: if @l = 'Information' then undefined() else @l, @m, @x, @tr, @sp, ..@p} }\n";

    private const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Configures the global logger. Every event goes to standard error, so that command output (standard output)
    /// stays clean; <paramref name="format"/> null picks JSON when standard error is not a terminal (<see cref="LogFormats.Detect"/>).
    /// </summary>
    public static void Configure(bool verbose, string? jsonFile, LogFormat? format = null)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            // Orleans and the hosting stack say a lot at Information; the orchestrator's own lines matter.
            .MinimumLevel.Override("Orleans", verbose ? LogEventLevel.Information : LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Polly", LogEventLevel.Warning)
            .Filter.ByExcluding(IsNoise)
            // Job and Epoch come from the grains' and ranks' logging scopes (JobLogScope) through the provider.
            .Enrich.FromLogContext();
        configuration = (format ?? LogFormats.Detect()) == LogFormat.Json
            ? configuration.WriteTo.Console(Json, standardErrorFromLevel: LogEventLevel.Verbose)
            : configuration.WriteTo.Console(outputTemplate: TextTemplate, standardErrorFromLevel: LogEventLevel.Verbose);
        if (!string.IsNullOrWhiteSpace(jsonFile))
            configuration = configuration.WriteTo.File(new CompactJsonFormatter(), jsonFile);
        Log.Logger = configuration.CreateLogger();
    }

    /// <summary>
    /// Orleans' lines a user cannot act on, dropped: its advice to run Server GC (Workstation GC is this executable's
    /// choice, Silo.csproj says why), and its watchdog's first tick, which reports "participant check thread has not
    /// completed for" the time since the machine booted (hours: 08:10:40 on a VM up 8 h) — a stall of more than an
    /// hour is that artefact, not a stall; shorter ones (real CPU starvation) are kept.
    /// </summary>
    public static bool IsNoise(LogEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var text = e.MessageTemplate.Text;
        if (text.StartsWith("Note: Silo not running with ServerGC", StringComparison.Ordinal)
            || text.StartsWith("Note: ServerGC only kicks in", StringComparison.Ordinal)) return true;
        return text.StartsWith("Participant check thread has not completed for", StringComparison.Ordinal)
            && e.Properties.TryGetValue("TimeSinceLastTick", out var since)
            && since is ScalarValue { Value: TimeSpan stalled } && stalled > TimeSpan.FromHours(1);
    }

    /// <summary>The JSON console formatter (<see cref="JsonTemplate"/>).</summary>
    public static ITextFormatter Json { get; } = new ExpressionTemplate(JsonTemplate);
}
