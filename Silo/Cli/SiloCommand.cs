using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Storage;
using Orchestrator.Silo.Cluster;
using Orchestrator.Silo.Telemetry;
using Orleans.Runtime;
using Serilog;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator silo</c>: runs this node's silo in the cluster until stopped.</summary>
public static class SiloCommand
{
    public static Command Create()
    {
        var node = new Option<string?>("--node") { Description = "Node name, unique in the cluster (also ORCHESTRATOR__NODE)" };
        var devices = new Option<string?>("--devices") { Description = "Device slots: cpu:N or cuda:0-7 (also ORCHESTRATOR__DEVICES)" };
        var postgres = ClusterOptions.Postgres();
        var clusterId = ClusterOptions.ClusterId();
        var siloPort = new Option<int?>("--silo-port") { Description = "Silo-to-silo port (default 11111)" };
        var gatewayPort = new Option<int?>("--gateway-port") { Description = "Client gateway port (default 30000)" };
        var storage = new Option<string?>("--storage") { Description = "Root folder of checkpoint shards, shared by the cluster's nodes (a shared filesystem; one folder on loopback)" };
        var address = new Option<string?>("--address") { Description = "IP address to listen on and advertise (default: loopback)" };
        var dashboardPort = new Option<int?>("--dashboard-port") { Description = "Serve the dashboard on 127.0.0.1:PORT (tokens: Orchestrator:DashboardTokenHashes; see dashboard-token)" };
        var dashboardUrl = new Option<string?>("--dashboard-url") { Description = "Serve the dashboard on this URL instead, e.g. http://0.0.0.0:5080" };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics on http://HOST:PORT/metrics (127.0.0.1 unless --address is not loopback; also ORCHESTRATOR__METRICSPORT); off when not set" };
        var otlpEndpoint = new Option<string?>("--otlp-endpoint") { Description = "Also push metrics to this OTLP collector (gRPC), e.g. http://collector:4317 (also ORCHESTRATOR__OTLPENDPOINT)" };
        var nodes = new Option<int>("--nodes")
        {
            Description = "Host this many nodes in this process, one silo each (names counted up from --node, ports from --silo-port and --gateway-port): for control-plane scale runs with --devices sim:N",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("silo", "Run this node's silo: join the cluster through PostgreSQL and offer its devices to jobs")
        {
            node, devices, postgres, clusterId, siloPort, gatewayPort, storage, address, dashboardPort, dashboardUrl, metricsPort, otlpEndpoint, nodes,
        };
        command.SetAction((result, cancellation) => CommandErrors.Run(async () =>
        {
            GlobalOptions.StartLogging(result);
            var settings = ClusterOptions.Resolve(result, postgres, clusterId);
            settings.Node = result.GetValue(node) ?? settings.Node;
            settings.Devices = result.GetValue(devices) ?? settings.Devices;
            settings.SiloPort = result.GetValue(siloPort) ?? settings.SiloPort;
            settings.GatewayPort = result.GetValue(gatewayPort) ?? settings.GatewayPort;
            settings.Storage = result.GetValue(storage) ?? settings.Storage;
            settings.Address = result.GetValue(address) ?? settings.Address;
            settings.DashboardPort = result.GetValue(dashboardPort) ?? settings.DashboardPort;
            settings.DashboardUrl = result.GetValue(dashboardUrl) ?? settings.DashboardUrl;
            settings.MetricsPort = result.GetValue(metricsPort) ?? settings.MetricsPort;
            settings.OtlpEndpoint = result.GetValue(otlpEndpoint) ?? settings.OtlpEndpoint;
            var nodeOptions = Validate(settings);
            var metrics = MetricsExport.From(settings.MetricsPort, settings.OtlpEndpoint, settings.Address);
            var names = NodeNames.From(nodeOptions.Name, result.GetValue(nodes));
            if (settings.SiloPort + names.Count - 1 > 65535 || settings.GatewayPort + names.Count - 1 > 65535)
                throw new ArgumentException($"--nodes {names.Count}: the ports from --silo-port {settings.SiloPort} and --gateway-port {settings.GatewayPort} pass 65535");
            var dashboard = Dashboard(settings);
            GlobalOptions.StartTorch(result);
            await using var store = await PostgresMetadataStore.OpenAsync(settings.Postgres!, cancellationToken: cancellation);
            var hosts = new List<IHost>();
            try
            {
                for (var i = 0; i < names.Count; i++)
                {
                    var served = new NodeOptions { Name = names[i], Devices = nodeOptions.Devices, StorageRoot = nodeOptions.StorageRoot };
                    // The meters are the process's: its first node exports them for all its nodes.
                    var host = SiloHost.ForCluster(settings, served, store, i == 0 ? dashboard : null, portOffset: i, i == 0 ? metrics : null,
                        i == 0 ? metrics.TraceExporter : null);
                    hosts.Add(host);
                    await host.StartAsync(cancellation);
                    await host.Services.GetRequiredService<NodeRegistrar>().Registered.WaitAsync(cancellation);
                    var silo = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
                    // One line on standard output per node, that scripts and tests wait for.
                    Console.WriteLine($"silo {served.Name} joined cluster {settings.ClusterId} as {silo.ToParsableString()}");
                    Log.Information("Node {Node} serves {Devices}; stop with Ctrl+C", served.Name, string.Join(", ", served.Devices));
                }

                if (dashboard is not null) Console.WriteLine($"dashboard: {dashboard.Url}/");
                if (metrics.ScrapeUrl is { } scrape) Console.WriteLine($"metrics: {scrape}");
                await Task.WhenAll(hosts.Select(h => h.WaitForShutdownAsync(cancellation)));
            }
            finally
            {
                foreach (var host in hosts) host.Dispose();
            }

            return 0;
        }));
        return command;
    }

    private static DashboardHosting? Dashboard(SiloSettings settings)
    {
        var url = DashboardHosting.UrlOf(settings.DashboardUrl, settings.DashboardPort);
        if (url is null) return null;
        if (settings.DashboardTokenHashes.Count == 0)
            throw new ArgumentException("the dashboard needs at least one API token: set Orchestrator:DashboardTokenHashes:0 in appsettings.json or ORCHESTRATOR__DASHBOARDTOKENHASHES__0 to the hash `orchestrator dashboard-token` prints");
        return DashboardHosting.For(url, settings.DashboardTokenHashes);
    }

    private static NodeOptions Validate(SiloSettings settings)
    {
        if (string.IsNullOrWhiteSpace(settings.Node)) throw new ArgumentException("--node is required (or ORCHESTRATOR__NODE): this node's name, e.g. n1");
        if (string.IsNullOrWhiteSpace(settings.Devices)) throw new ArgumentException("--devices is required (or ORCHESTRATOR__DEVICES): cpu:N or cuda:0-7");
        if (string.IsNullOrWhiteSpace(settings.Postgres)) throw new ArgumentException("--postgres is required (or ORCHESTRATOR__POSTGRES): the cluster database's connection string");
        if (settings.SiloPort is <= 0 or > 65535) throw new ArgumentException($"--silo-port: {settings.SiloPort} is not a TCP port");
        if (settings.GatewayPort is <= 0 or > 65535) throw new ArgumentException($"--gateway-port: {settings.GatewayPort} is not a TCP port");
        return new NodeOptions
        {
            Name = settings.Node,
            Devices = DeviceList.Parse(settings.Devices),
            // One default for every node: checkpoint shards must be readable by the ranks and coordinator of any node.
            StorageRoot = Path.GetFullPath(settings.Storage ?? Path.Combine(Path.GetTempPath(), "orchestrator-storage")),
        };
    }
}
