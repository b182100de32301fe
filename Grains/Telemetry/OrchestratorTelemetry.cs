using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// The orchestrator's telemetry names: one <see cref="Meter"/> for its metrics and one <see cref="ActivitySource"/> for
/// its traces, both named <see cref="Name"/>. Instruments and spans are created through these two; the silo's
/// OpenTelemetry set-up listens to <see cref="Name"/> (and Orleans' own meters and sources).
/// </summary>
public static class OrchestratorTelemetry
{
    /// <summary>The meter and activity-source name.</summary>
    public const string Name = "Orchestrator";

    /// <summary>The meter every orchestrator instrument belongs to.</summary>
    public static readonly Meter Meter = new(Name);

    /// <summary>The source of every orchestrator span.</summary>
    public static readonly ActivitySource Source = new(Name);
}
