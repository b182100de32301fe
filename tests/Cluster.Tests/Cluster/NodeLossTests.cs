using System.Diagnostics;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>Two real silo processes joined through PostgreSQL; the one running a job's rank is killed by pid.</summary>
public sealed class NodeLossTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-nodeloss-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task KillingTheSiloOfARank_FailsTheJob_WithAnEventNamingTheDeadNode()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "nl-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        var storage = Path.Combine(_root, "storage");
        var start1 = SiloProcess.StartAsync(connectionString, clusterId, "n1", "cpu:1", ports[0], ports[1], storage, timeout.Token);
        var start2 = SiloProcess.StartAsync(connectionString, clusterId, "n2", "cpu:2", ports[2], ports[3], storage, timeout.Token);
        using var n1 = await start1;
        using var n2 = await start2;
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        var nodes = await connection.Client.GetGrain<IClusterGrain>(IClusterGrain.Key).GetNodes();
        Assert.Equal([("n1", true), ("n2", true)], nodes.Select(n => (n.Name, n.Alive)));

        // n2 has the most free slots, so the planner puts the single rank there.
        var job = connection.Client.GetGrain<IJobGrain>("doomed");
        var status = await job.Submit(JobSpecParser.Parse(TinyJob.Spec("doomed", data, 100_000).ToJsonString()));
        var rank = Assert.Single(status.Plan!.Ranks);
        Assert.Equal("n2", rank.Node);
        var rankGrain = connection.Client.GetGrain<IRankGrain>(new RankKey("doomed", status.Epoch, rank.Rank, rank.Node).ToString());
        Assert.Equal("n2", await rankGrain.GetSiloName());
        await OneNodeCluster.WaitForAsync(job, s => s.Step >= 1 || s.IsFinal, TimeSpan.FromSeconds(90));

        var clock = Stopwatch.StartNew();
        n2.Kill();
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(30));
        output.WriteLine($"job {final.Phase} {clock.Elapsed.TotalSeconds:F1} s after the kill: {final.Error}");

        Assert.Equal(JobPhase.Failed, final.Phase);
        Assert.Contains("node n2 died", final.Error, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        var events = await store.ListJobEventsAsync("doomed");
        var lost = Assert.Single(events, e => e.Kind == "node-lost");
        Assert.Contains("\"node\":\"n2\"", lost.DetailJson, StringComparison.Ordinal);
        Assert.Equal(JobState.Failed, (await store.GetJobAsync("doomed"))!.State);
        Assert.Contains((await store.ListNodesAsync()), n => n.Name == "n2" && n.Status == NodeStatus.Dead);
    }
}
