using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>The <c>orchestrator.alerts</c> counter: one per alert a job raises, tagged with the job and the alert's kind.</summary>
public static class AlertMetrics
{
    /// <summary>The instrument's name.</summary>
    public const string Name = "orchestrator.alerts";

    private static readonly Counter<long> Alerts =
        OrchestratorTelemetry.Meter.CreateCounter<long>(Name, unit: "{alert}", description: "Alerts raised by jobs (NaN or spiking loss, MaxVio, stalled rank, checkpoint failure, low disk)");

    /// <summary>Counts one alert of <paramref name="kind"/> raised by <paramref name="job"/>.</summary>
    public static void Count(string job, string kind) =>
        Alerts.Add(1, new TagList { { "job", job }, { "kind", kind } });
}
