using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Silo.Telemetry;

/// <summary>
/// Where a silo's metrics go: a Prometheus scrape endpoint (<c>/metrics</c> on its own port, served by the
/// OpenTelemetry exporter's own HttpListener, so a silo without a dashboard needs no web host), an OTLP collector, both
/// or neither. The metrics are the orchestrator's meter (<see cref="OrchestratorTelemetry"/>), Orleans' own
/// (<see cref="OrleansMeter"/>: grain calls, messaging, activations) and the .NET runtime's.
/// </summary>
/// <param name="PrometheusPort">The scrape port; no endpoint when null.</param>
/// <param name="AnyAddress">Listen on every address (the silo listens on a non-loopback address), not only on 127.0.0.1.</param>
/// <param name="OtlpEndpoint">The OTLP collector (gRPC, e.g. <c>http://collector:4317</c>); no OTLP export when null.</param>
public sealed record MetricsExport(int? PrometheusPort, bool AnyAddress, Uri? OtlpEndpoint)
{
    /// <summary>The meter Orleans 10 records its own metrics on (<c>orleans-app-requests-latency</c> and the rest).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>The OpenTelemetry service name of every silo (the node is the service instance).</summary>
    public const string ServiceName = "orchestrator";

    /// <summary>No export: no metrics provider is registered at all.</summary>
    public static MetricsExport None { get; } = new(null, false, null);

    /// <summary>Whether anything is exported.</summary>
    public bool Enabled => PrometheusPort is not null || OtlpEndpoint is not null;

    /// <summary>The trace exporter of the same OTLP endpoint (<c>--otlp-endpoint</c> carries metrics and traces); null without one.</summary>
    public Action<TracerProviderBuilder>? TraceExporter => OtlpEndpoint is not { } endpoint ? null
        : traces => traces.AddOtlpExporter(o =>
        {
            o.Endpoint = endpoint;
            o.Protocol = OtlpExportProtocol.Grpc;
        });

    /// <summary>The host the scrape endpoint's HttpListener binds: every address (<c>+</c>) or 127.0.0.1.</summary>
    public string ListenHost => AnyAddress ? "+" : "127.0.0.1";

    /// <summary>The URL Prometheus scrapes on this machine; null without an endpoint.</summary>
    public string? ScrapeUrl => PrometheusPort is { } port ? $"http://127.0.0.1:{port}/metrics" : null;

    /// <summary>The export for <c>--metrics-port</c>, <c>--otlp-endpoint</c> and the silo's <c>--address</c>.</summary>
    /// <exception cref="ArgumentException">A value is not usable; the message names the option.</exception>
    public static MetricsExport From(int? metricsPort, string? otlpEndpoint, string? address = null)
    {
        if (metricsPort is <= 0 or > 65535) throw new ArgumentException($"--metrics-port: {metricsPort} is not a TCP port (1-65535)");
        Uri? otlp = null;
        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            if (!Uri.TryCreate(otlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
                throw new ArgumentException($"--otlp-endpoint: '{otlpEndpoint}' is not an http(s)://host:port URL (e.g. http://collector:4317)");
            otlp = uri;
        }

        var any = !string.IsNullOrWhiteSpace(address) && IPAddress.TryParse(address, out var ip) && !IPAddress.IsLoopback(ip);
        return new MetricsExport(metricsPort, any, otlp);
    }

    /// <summary>
    /// Registers the metrics part of the silo's OpenTelemetry set-up (<c>AddOpenTelemetry().WithMetrics</c>, so that a
    /// tracing set-up composes with it) for <paramref name="node"/>; nothing when nothing is exported.
    /// </summary>
    public void AddTo(IServiceCollection services, string node)
    {
        if (!Enabled) return;
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.ConfigureResource(resource => resource.AddService(ServiceName, serviceInstanceId: node))
                .AddMeter(OrchestratorTelemetry.Name, OrleansMeter)
                .AddRuntimeInstrumentation();
            if (PrometheusPort is { } port)
                metrics.AddPrometheusHttpListener(o =>
                {
                    o.Host = ListenHost;
                    o.Port = port;
                    o.ScrapeEndpointPath = "/metrics";
                });
            if (OtlpEndpoint is { } endpoint)
                metrics.AddOtlpExporter(o =>
                {
                    o.Endpoint = endpoint;
                    o.Protocol = OtlpExportProtocol.Grpc;
                });
        });
    }
}
