using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Membership;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Orchestrator.Grains.Tests.Membership;

/// <summary>Builds membership tables, gateway lists and entries the way a silo would, for one cluster id.</summary>
internal sealed class MembershipTableHarness(string connectionString, string clusterId)
{
    public static DateTime Now => new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);

    public string ClusterId => clusterId;

    public PostgresMembershipTable Table() => Table(clusterId);

    public PostgresMembershipTable Table(string cluster) =>
        new(
            Options.Create(new PostgresClusteringOptions { ConnectionString = connectionString }),
            Options.Create(new ClusterOptions { ClusterId = cluster, ServiceId = "orchestrator" }),
            NullLogger<PostgresMembershipTable>.Instance);

    public PostgresGatewayListProvider Gateways() =>
        new(
            Options.Create(new PostgresClusteringOptions { ConnectionString = connectionString }),
            Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = "orchestrator" }),
            Options.Create(new GatewayOptions()));

    public static MembershipEntry Entry(int port, SiloStatus status = SiloStatus.Joining, int proxyPort = 0, int generation = 1) =>
        new()
        {
            SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), generation),
            Status = status,
            ProxyPort = proxyPort,
            HostName = "host-" + port,
            SiloName = "silo-" + port,
            RoleName = "orchestrator",
            UpdateZone = 1,
            FaultZone = 2,
            StartTime = Now,
            IAmAliveTime = Now,
            SuspectTimes = [],
        };
}
