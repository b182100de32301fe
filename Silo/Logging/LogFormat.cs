namespace Orchestrator.Silo.Logging;

/// <summary>How log events are written to the console.</summary>
public enum LogFormat
{
    /// <summary>One line per event for a person: time, level, message.</summary>
    Text,

    /// <summary>One compact JSON object per line, the message rendered (searchable as text) and every property kept.</summary>
    Json,
}

/// <summary>Reading <c>--log-format</c>, and the default when it is not given.</summary>
public static class LogFormats
{
    /// <summary>The names <c>--log-format</c> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["text", "json"];

    /// <summary>The format <paramref name="name"/> names; null when it names none.</summary>
    public static LogFormat? Parse(string name) => name switch
    {
        "text" => LogFormat.Text,
        "json" => LogFormat.Json,
        _ => null,
    };

    /// <summary>
    /// JSON when the logs' stream (standard error, where every event goes) is not a terminal — a service manager, a
    /// container runtime or a pipe collects it — and text on a terminal.
    /// </summary>
    public static LogFormat Detect() => Console.IsErrorRedirected ? LogFormat.Json : LogFormat.Text;
}
