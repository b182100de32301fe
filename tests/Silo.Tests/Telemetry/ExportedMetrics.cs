using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>
/// The Prometheus series names of every instrument the code creates on the orchestrator's meter, read from the
/// instruments themselves (every static class of <c>Orchestrator.Grains.Telemetry</c> initialised, then listed by a
/// <see cref="MeterListener"/>) and translated as the OpenTelemetry Prometheus exporter translates them: dots to
/// underscores, the unit as a suffix unless the name ends with it, <c>_total</c> on counters, <c>_bucket</c>/<c>_sum</c>/<c>_count</c> on
/// histograms. The scrape test checks this translation against the real exporter's output.
/// </summary>
public static class ExportedMetrics
{
    /// <summary>One instrument: its OpenTelemetry name and kind, and the series it is exported as.</summary>
    public sealed record Exported(string Name, string Kind, string Base, IReadOnlyList<string> Series);

    /// <summary>Series of other meters (Orleans', the runtime's) that the deploy files may query; the scrape test finds each in a real silo's exposition.</summary>
    public static IReadOnlyList<string> OtherSeries { get; } = ["orleans_app_requests_latency_milliseconds_bucket"];

    /// <summary>Every instrument of the orchestrator's meter.</summary>
    public static IReadOnlyList<Exported> All { get; } = Read();

    /// <summary>Every series name those instruments are exported as.</summary>
    public static IReadOnlySet<string> SeriesNames { get; } = All.SelectMany(e => e.Series).ToHashSet(StringComparer.Ordinal);

    /// <summary>The base name (without <c>_total</c>, <c>_bucket</c>…) of the instrument named <paramref name="name"/>.</summary>
    public static Exported Of(string name) => All.Single(e => e.Name == name);

    private static List<Exported> Read()
    {
        var assembly = typeof(OrchestratorTelemetry).Assembly;
        foreach (var type in assembly.GetTypes().Where(t => t.Namespace == typeof(OrchestratorTelemetry).Namespace && t is { IsAbstract: true, IsSealed: true }))
            RuntimeHelpers.RunClassConstructor(type.TypeHandle);

        var found = new List<Instrument>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, OrchestratorTelemetry.Meter)) found.Add(instrument);
            };
            listener.Start();
        }

        return found.DistinctBy(i => i.Name).Select(Translate).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
    }

    private static Exported Translate(Instrument instrument)
    {
        var kind = instrument.GetType().Name.Split('`')[0];
        var name = new string([.. instrument.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_')]);
        var unit = Unit(instrument.Unit, instrument.Name);
        // A name that already ends with its unit gets no second one (orchestrator.checkpoint.write.bytes).
        var baseName = unit.Length == 0 || name.EndsWith("_" + unit, StringComparison.Ordinal) ? name : $"{name}_{unit}";
        IReadOnlyList<string> series = kind switch
        {
            "Counter" or "ObservableCounter" => [baseName + "_total"],
            "Histogram" => [baseName + "_bucket", baseName + "_sum", baseName + "_count"],
            "ObservableGauge" or "Gauge" or "UpDownCounter" or "ObservableUpDownCounter" => [baseName],
            _ => throw new InvalidOperationException($"{instrument.Name}: instrument kind {kind} has no translation here"),
        };
        return new Exported(instrument.Name, kind, baseName, series);
    }

    /// <summary>The exporter's unit suffix: UCUM units named, annotations (<c>{token}</c>) dropped, <c>a/b</c> as <c>a_per_b</c>.</summary>
    private static string Unit(string? unit, string instrument)
    {
        if (string.IsNullOrEmpty(unit)) return "";
        var parts = unit.Split('/');
        if (parts.Length > 2) throw new InvalidOperationException($"{instrument}: unit '{unit}' has no translation here");
        var first = Word(parts[0], plural: true, instrument);
        if (parts.Length == 1) return first;
        var per = "per_" + Word(parts[1], plural: false, instrument);
        return first.Length == 0 ? per : $"{first}_{per}";
    }

    private static string Word(string unit, bool plural, string instrument) => unit switch
    {
        _ when unit.StartsWith('{') && unit.EndsWith('}') => "",
        "s" => plural ? "seconds" : "second",
        "ms" => plural ? "milliseconds" : "millisecond",
        "By" => "bytes",
        _ => throw new InvalidOperationException($"{instrument}: unit '{unit}' has no translation here: add it to {nameof(ExportedMetrics)}"),
    };
}
