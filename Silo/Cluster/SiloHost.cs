using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Membership;
using Orchestrator.Grains.Storage;
using Orleans.Configuration;
using Orleans.Hosting;
using Serilog;

namespace Orchestrator.Silo.Cluster;

/// <summary>Builds the host of one orchestrator silo: Orleans, the metadata store, the node's services, Serilog.</summary>
public static class SiloHost
{
    /// <summary>A cluster silo: PostgreSQL membership and failure detection, the PostgreSQL store.</summary>
    public static IHost ForCluster(SiloSettings settings, NodeOptions node, IMetadataStore store) =>
        Build(node, store, silo =>
        {
            var address = string.IsNullOrWhiteSpace(settings.Address) ? IPAddress.Loopback : IPAddress.Parse(settings.Address);
            silo.UsePostgresClustering(o => o.ConnectionString = settings.Postgres!)
                .UseFailureDetection()
                .Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = settings.ClusterId;
                    o.ServiceId = "orchestrator";
                })
                .ConfigureEndpoints(address, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(address));
        });

    /// <summary>The single-silo demo: localhost clustering, the SQLite store in the work folder.</summary>
    public static IHost ForDemo(NodeOptions node, IMetadataStore store, int siloPort, int gatewayPort) =>
        Build(node, store, silo => silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "orchestrator-demo", clusterId: "demo"));

    private static IHost Build(NodeOptions node, IMetadataStore store, Action<ISiloBuilder> clustering)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(Log.Logger, dispose: false);
        builder.Services.AddSingleton(store);
        builder.UseOrleans(silo =>
        {
            clustering(silo);
            silo.AddOrchestratorNode(node);
        });
        return builder.Build();
    }
}
