using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Snapshots;

/// <summary>
/// Peer snapshots with real silo processes: three nodes (cpu:2 each) joined through PostgreSQL; a dp 2 job's ranks run
/// on n1 and n2, each step's state copied to the rank's own node and its ring buddy. A reference job runs the same
/// spec uninterrupted first. Killing the node of rank 0 (the dense shard's writer) with kill -9 recovers from the
/// buddy's memory with at most one step lost; killing both of its holders falls back to the disk checkpoint for the
/// whole job. Either way every step's loss equals the uninterrupted run's, to the bit.
/// </summary>
public sealed class PeerSnapshotRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Steps = 40;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-peer-snapshots-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task KillingTheNodeOfRankZero_RecoversFromItsBuddysMemory_LosingAtMostOneStep_WithTheSameBits()
    {
        var recovered = await RunAsync("mem", kill: ["n1"]);
        Assert.Equal("memory", recovered["source"]!.GetValue<string>());
        Assert.True(recovered["steps_lost"]!.GetValue<long>() <= 1, $"steps lost: {recovered}");
    }

    [Fact]
    public async Task KillingBothHoldersOfAShard_FallsBackToTheDiskCheckpoint_ForTheWholeJob_WithTheSameBits()
    {
        var recovered = await RunAsync("disk", kill: ["n1", "n2"]);
        // The two deaths may be declared apart, and a re-plan onto n2 in between is recovered from again: the last one counts.
        Assert.Equal("disk", recovered["source"]!.GetValue<string>());
        Assert.Equal(0, recovered["from_step"]!.GetValue<long>() % 5); // a committed checkpoint's step (every 5), not a snapshot's
    }

    /// <summary>Runs the reference job, then the job whose nodes <paramref name="kill"/> die mid-run; returns its recovered event's detail.</summary>
    private async Task<JsonNode> RunAsync(string id, string[] kill)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "snap-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(6);
        var storage = Path.Combine(_root, "storage-" + id);
        var silos = (await Task.WhenAll(new[] { "n1", "n2", "n3" }.Select((node, i) =>
            SiloProcess.StartAsync(connectionString, clusterId, node, "cpu:2", ports[2 * i], ports[2 * i + 1], storage, timeout.Token)))).ToList();
        try
        {
            await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
            await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
            var cluster = connection.Client.GetGrain<IClusterGrain>(IClusterGrain.Key);
            for (var i = 0; i < 100 && (await cluster.GetNodes()).Count(n => n.Alive) < 3; i++) await Task.Delay(200, timeout.Token);

            var reference = connection.Client.GetGrain<IJobGrain>(id + "-ref");
            await reference.Submit(JobSpecParser.Parse(Spec(id + "-ref", data).ToJsonString()));
            var done = await OneNodeCluster.WaitForAsync(reference, s => s.IsFinal, TimeSpan.FromSeconds(120));
            Assert.True(done.Phase == JobPhase.Completed, $"reference: {done.Phase}: {done.Error}");
            Assert.NotNull(done.MemoryStep);

            var job = connection.Client.GetGrain<IJobGrain>(id);
            var status = await job.Submit(JobSpecParser.Parse(Spec(id, data).ToJsonString()));
            Assert.Equal(["n1", "n2"], status.Plan!.Ranks.Select(r => r.Node).Order(StringComparer.Ordinal));
            Assert.Equal("n1", status.Plan.Ranks.Single(r => r.Rank == 0).Node);
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 16 || s.IsFinal, TimeSpan.FromSeconds(120));
            // The memory bound: a holder keeps at most the newest complete copy and the one being written of each rank.
            var held = await connection.Client.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf(id, "n2")).Inventory();
            output.WriteLine($"n2 holds: {string.Join(", ", held.Select(h => $"rank {h.Rank}@{h.Step} ({h.Bytes} B)"))}");
            Assert.Contains(held, h => h.Rank == 0);
            Assert.All(held.GroupBy(h => h.Rank), g => Assert.True(g.Count() <= 2, $"rank {g.Key}: {g.Count()} copies"));

            foreach (var silo in silos.Where(s => kill.Contains(s.Node))) silo.Kill();
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(180));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            var events = await store.ListJobEventsAsync(id);
            var recoveries = events.Where(e => e.Kind == "recovered").Select(e => JsonNode.Parse(e.DetailJson!)!).ToList();
            foreach (var r in recoveries) output.WriteLine($"recovered: {r.ToJsonString()}");
            var recovered = recoveries[^1];

            var expected = await Losses(store, id + "-ref");
            var losses = await Losses(store, id);
            Assert.Equal(Steps, expected.Length);
            Assert.Equal(expected, losses);
            return recovered;
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, silos);
            throw;
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
        }
    }

    private static JsonObject Spec(string id, string data)
    {
        var spec = TinyJob.Spec(id, data, Steps);
        spec["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 2 };
        spec["checkpoint"] = new JsonObject { ["every"] = 5, ["keep"] = 2, ["memory_every"] = 1, ["memory_copies"] = 1 };
        return spec;
    }

    private static async Task<double[]> Losses(PostgresMetadataStore store, string job) =>
        (await store.QueryMetricsAsync(job, new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
}
