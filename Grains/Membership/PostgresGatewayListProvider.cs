using System.Net;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Messaging;
using Orleans.Runtime;

namespace Orchestrator.Grains.Membership;

/// <summary>The gateways a client may connect to: the active silos of the cluster that listen for clients.</summary>
public sealed class PostgresGatewayListProvider : IGatewayListProvider, IAsyncDisposable
{
    private readonly string _clusterId;
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Creates the provider over the configured database.</summary>
    public PostgresGatewayListProvider(
        IOptions<PostgresClusteringOptions> options, IOptions<ClusterOptions> clusterOptions, IOptions<GatewayOptions> gatewayOptions)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        ArgumentNullException.ThrowIfNull(gatewayOptions);
        if (string.IsNullOrWhiteSpace(options.Value.ConnectionString))
        {
            throw new OrleansConfigurationException("PostgresClusteringOptions.ConnectionString is not set");
        }

        _clusterId = clusterOptions.Value.ClusterId
            ?? throw new OrleansConfigurationException("ClusterOptions.ClusterId is not set");
        _dataSource = NpgsqlDataSource.Create(options.Value.ConnectionString);
        MaxStaleness = gatewayOptions.Value.GatewayListRefreshPeriod;
    }

    /// <inheritdoc />
    public TimeSpan MaxStaleness { get; }

    /// <inheritdoc />
    public bool IsUpdatable => true;

    /// <summary>Nothing to prepare: the silos create the schema; a client only reads.</summary>
    public Task InitializeGatewayListProvider() => Task.CompletedTask;

    /// <summary>Active silos with a gateway port, as <c>gwy.tcp://address:proxyPort/generation</c>.</summary>
    public async Task<IList<Uri>> GetGateways()
    {
        await using var command = _dataSource.CreateCommand(
            """
            SELECT address, proxy_port, generation FROM membership
            WHERE cluster_id = @cluster AND status = @active AND proxy_port > 0
            ORDER BY address, proxy_port, generation
            """);
        command.Parameters.AddWithValue("cluster", _clusterId);
        command.Parameters.AddWithValue("active", (int)SiloStatus.Active);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        var gateways = new List<Uri>();
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var endpoint = new IPEndPoint(IPAddress.Parse(reader.GetString(0)), reader.GetInt32(1));
            gateways.Add(SiloAddress.New(endpoint, reader.GetInt32(2)).ToGatewayUri());
        }

        return gateways;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
