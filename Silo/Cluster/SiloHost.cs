using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Dashboard;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Membership;
using Orchestrator.Grains.Storage;
using Orchestrator.Silo.Telemetry;
using Orleans.Configuration;
using Orleans.Dashboard;
using OpenTelemetry.Trace;
using Orleans.Hosting;
using Serilog;

namespace Orchestrator.Silo.Cluster;

/// <summary>Builds the host of one orchestrator silo: Orleans, the metadata store, the node's services, Serilog, the metrics export, tracing (<see cref="TraceExport"/>).</summary>
public static class SiloHost
{
    /// <summary>A cluster silo: PostgreSQL membership and failure detection, the PostgreSQL store.</summary>
    /// <param name="settings">The cluster settings.</param>
    /// <param name="node">The node the silo serves.</param>
    /// <param name="store">The metadata store.</param>
    /// <param name="dashboard">Serve the dashboard too, if given.</param>
    /// <param name="portOffset">Added to both ports (the n-th node of a process that hosts several).</param>
    /// <param name="metrics">Where its metrics go; none if null (the meters are the process's: one silo of a process exports them).</param>
    /// <param name="traceExport">Adds the trace exporters; null: the silo does not trace.</param>
    public static IHost ForCluster(SiloSettings settings, NodeOptions node, SqlMetadataStore store, DashboardHosting? dashboard = null, int portOffset = 0,
        MetricsExport? metrics = null, Action<TracerProviderBuilder>? traceExport = null) =>
        Build(node, store, dashboard, metrics, traceExport, silo =>
        {
            var address = string.IsNullOrWhiteSpace(settings.Address) ? IPAddress.Loopback : IPAddress.Parse(settings.Address);
            silo.UsePostgresClustering(o => o.ConnectionString = settings.Postgres!)
                .UseFailureDetection()
                .Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = settings.ClusterId;
                    o.ServiceId = "orchestrator";
                })
                .ConfigureEndpoints(address, settings.SiloPort + portOffset, settings.GatewayPort + portOffset, listenOnAnyHostAddress: !IPAddress.IsLoopback(address));
        });

    /// <summary>The single-silo demo: localhost clustering, the SQLite store in the work folder.</summary>
    public static IHost ForDemo(NodeOptions node, SqlMetadataStore store, int siloPort, int gatewayPort, DashboardHosting? dashboard = null,
        MetricsExport? metrics = null, Action<TracerProviderBuilder>? traceExport = null) =>
        Build(node, store, dashboard, metrics, traceExport, silo => silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "orchestrator-demo", clusterId: "demo"));

    private static IHost Build(NodeOptions node, SqlMetadataStore store, DashboardHosting? dashboard, MetricsExport? metrics,
        Action<TracerProviderBuilder>? traceExport, Action<ISiloBuilder> clustering)
    {
        if (dashboard is null)
        {
            var builder = Host.CreateApplicationBuilder();
            Configure(builder, node, store, metrics, clustering, traceExport, withDashboard: false);
            return builder.Build();
        }

        // With a dashboard the silo is also a web host (Kestrel on the dashboard's URL only).
        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        Configure(web, node, store, metrics, clustering, traceExport, withDashboard: true);
        web.WebHost.UseUrls(dashboard.Url);
        web.Services.AddOrchestratorDashboard(dashboard.Configure);
        var app = web.Build();
        app.UseOrchestratorDashboard();
        return app;
    }

    private static void Configure(IHostApplicationBuilder builder, NodeOptions node, SqlMetadataStore store, MetricsExport? metrics, Action<ISiloBuilder> clustering,
        Action<TracerProviderBuilder>? traceExport, bool withDashboard)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(Log.Logger, dispose: false);
        builder.Services.AddMetadataStore(store);
        metrics?.AddTo(builder.Services, node.Name);
        if (traceExport is not null) builder.Services.AddOpenTelemetry().AddOrchestratorTracing(traceExport);
        builder.UseOrleans(silo =>
        {
            clustering(silo);
            silo.AddOrchestratorNode(node);
            if (withDashboard) silo.AddDashboard();
        });
    }
}
