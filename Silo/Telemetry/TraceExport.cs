using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Silo.Telemetry;

/// <summary>
/// The silo's tracing: an OpenTelemetry tracer provider listening to the orchestrator's <c>ActivitySource</c>
/// (<see cref="OrchestratorTelemetry.Name"/>), registered through <c>AddOpenTelemetry().WithTracing(...)</c> so it
/// composes with the metrics set-up's <c>WithMetrics(...)</c> on the same builder. Orleans' own per-call sources are
/// not listened to: with activity propagation they would add two spans to every grain call, the ranks'
/// collective payloads included; a job's spans are parented explicitly by its stored trace context instead.
/// </summary>
public static class TraceExport
{
    /// <summary>
    /// Adds the orchestrator's tracing to <paramref name="telemetry"/>, its spans handed to the exporters
    /// <paramref name="export"/> adds (the OTLP exporter; an in-memory one in a test). A silo given no exporter
    /// registers no tracing at all (<see cref="Cluster.SiloHost"/>): then nothing listens and no span is created.
    /// </summary>
    public static IOpenTelemetryBuilder AddOrchestratorTracing(this IOpenTelemetryBuilder telemetry, Action<TracerProviderBuilder> export)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(export);
        return telemetry.WithTracing(tracing =>
        {
            tracing.AddSource(OrchestratorTelemetry.Name);
            export(tracing);
        });
    }
}
