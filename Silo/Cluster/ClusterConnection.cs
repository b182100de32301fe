using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Membership;
using Orleans.Configuration;
using Orleans.Hosting;
using Serilog;

namespace Orchestrator.Silo.Cluster;

/// <summary>An Orleans client connected to a cluster through the gateway list in PostgreSQL.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

    /// <summary>The client's grain factory.</summary>
    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>Connects; fails with a clear message when no silo answers.</summary>
    public static async Task<ClusterConnection> OpenAsync(string postgres, string clusterId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(postgres))
            throw new ArgumentException("--postgres (or ORCHESTRATOR__POSTGRES) is required: the connection string of the cluster's database");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(Log.Logger, dispose: false);
        builder.UseOrleansClient(client => client
            .UsePostgresClustering(o => o.ConnectionString = postgres)
            .Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = "orchestrator";
            }));
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new IOException($"cannot reach cluster '{clusterId}' through the database: {e.Message}", e);
        }

        return new ClusterConnection(host);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
