using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Membership;
using Orchestrator.Grains.Tests.Support;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Orchestrator.Grains.Tests.Membership;

/// <summary>Real Orleans hosts, in this process on loopback, clustering through the PostgreSQL membership table.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TwoSiloClusterTests(PostgresServer server, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task TwoSilos_JoinThroughPostgres_SeeEachOtherActive_AndAClientFindsThemThroughTheGatewayList()
    {
        var connectionString = await server.DatabaseForAsync(GetType());
        var clusterId = "it-" + Guid.NewGuid().ToString("N");
        using var timeout = new CancellationTokenSource(Patience);
        var ports = FreeLoopbackPorts(4);

        using var first = Silo(connectionString, clusterId, "s1", ports[0], ports[1]);
        using var second = Silo(connectionString, clusterId, "s2", ports[2], ports[3]);
        await first.StartAsync(timeout.Token);
        await second.StartAsync(timeout.Token);

        var seenByFirst = await WaitForActiveMembersAsync(first, 2, timeout.Token);
        var seenBySecond = await WaitForActiveMembersAsync(second, 2, timeout.Token);
        Assert.Equal(seenByFirst.Order(), seenBySecond.Order());

        using var client = Client(connectionString, clusterId);
        await client.StartAsync(timeout.Token);
        var hosts = await client.Services.GetRequiredService<IClusterClient>()
            .GetGrain<IManagementGrain>(0)
            .GetHosts(onlyActive: true)
            .WaitAsync(timeout.Token);

        Assert.Equal(seenByFirst.Order(), hosts.Keys.Order());
        Assert.All(hosts.Values, status => Assert.Equal(SiloStatus.Active, status));

        await client.StopAsync(timeout.Token);
        await second.StopAsync(timeout.Token);
        await first.StopAsync(timeout.Token);

        // A graceful stop leaves each silo's row marked dead, written through UpdateRow by Orleans itself.
        await using var table = new MembershipTableHarness(connectionString, clusterId).Table();
        var rows = (await table.ReadAll()).Members.Select(m => m.Item1).ToList();
        Assert.Equal(seenByFirst.Order(), rows.Select(r => r.SiloAddress).Order());
        Assert.All(rows, r => Assert.Equal(SiloStatus.Dead, r.Status));
        Assert.Equal(["s1", "s2"], rows.Select(r => r.SiloName).Order());
    }

    [Fact]
    public async Task AKilledSilo_IsDeclaredDeadByItsPeerWithinFiveSeconds()
    {
        var connectionString = await server.DatabaseForAsync(GetType());
        var clusterId = "it-" + Guid.NewGuid().ToString("N");
        using var timeout = new CancellationTokenSource(Patience);
        var ports = FreeLoopbackPorts(4);
        using var survivor = Silo(connectionString, clusterId, "s1", ports[0], ports[1]);
        await survivor.StartAsync(timeout.Token);
        using var victim = await SiloProcessRunner.StartAsync(connectionString, clusterId, "s2", ports[2], ports[3], timeout.Token);
        await WaitForActiveMembersAsync(survivor, 2, timeout.Token);
        var survivorAddress = survivor.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var declaredDead = WaitForStatusAsync(survivor, victim.Address, SiloStatus.Dead, timeout.Token);

        var killedAt = TimeProvider.System.GetTimestamp();
        victim.Kill();
        await declaredDead;
        var detection = TimeProvider.System.GetElapsedTime(killedAt);
        output.WriteLine($"killed silo declared dead after {detection.TotalSeconds:F2} s");

        Assert.True(detection < TimeSpan.FromSeconds(5), $"declared dead after {detection.TotalSeconds:F1} s");

        // The death is the survivor's verdict, recorded with its vote, not a goodbye from the victim.
        await using var table = new MembershipTableHarness(connectionString, clusterId).Table();
        var row = (await table.ReadRow(victim.Address)).Members.Single().Item1;
        Assert.Equal(SiloStatus.Dead, row.Status);
        Assert.Contains(row.SuspectTimes ?? [], s => s.Item1.Equals(survivorAddress));
        await survivor.StopAsync(timeout.Token);
    }

    private static IHost Silo(string connectionString, string clusterId, string name, int siloPort, int gatewayPort) =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleans(silo => silo
                .UsePostgresClustering(options => options.ConnectionString = connectionString)
                .UseFailureDetection()
                .Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = clusterId;
                    options.ServiceId = "orchestrator-tests";
                })
                .Configure<SiloOptions>(options => options.SiloName = name)
                .ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort))
            .Build();

    private static IHost Client(string connectionString, string clusterId) =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleansClient(client => client
                .UsePostgresClustering(options => options.ConnectionString = connectionString)
                .Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = clusterId;
                    options.ServiceId = "orchestrator-tests";
                }))
            .Build();

    /// <summary>Waits until the silo's own view of the cluster has <paramref name="count"/> active members.</summary>
    private static async Task<IReadOnlyList<SiloAddress>> WaitForActiveMembersAsync(IHost silo, int count, CancellationToken cancellationToken)
    {
        var membership = silo.Services.GetRequiredService<IClusterMembershipService>();

        // The update stream starts with the current snapshot, so nothing between looking and listening is missed.
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
        {
            var active = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
            if (active.Count == count)
            {
                return active;
            }
        }

        throw new InvalidOperationException("the membership update stream ended");
    }

    private static async Task WaitForStatusAsync(IHost silo, SiloAddress member, SiloStatus status, CancellationToken cancellationToken)
    {
        var membership = silo.Services.GetRequiredService<IClusterMembershipService>();
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
        {
            if (snapshot.GetSiloStatus(member) == status)
            {
                return;
            }
        }
    }

    private static int[] FreeLoopbackPorts(int count)
    {
        // Hold every listener until all ports are chosen, so that no two are the same.
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
