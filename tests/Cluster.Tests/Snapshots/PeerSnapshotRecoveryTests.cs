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
        var recovered = await RunAsync("mem", KillAsync(["n1"]));
        Assert.Equal("memory", recovered["source"]!.GetValue<string>());
        Assert.True(recovered["steps_lost"]!.GetValue<long>() <= 1, $"steps lost: {recovered}");
    }

    [Fact]
    public async Task KillingBothHoldersOfAShard_FallsBackToTheDiskCheckpoint_ForTheWholeJob_WithTheSameBits()
    {
        var recovered = await RunAsync("disk", KillAsync(["n1", "n2"]));
        // The two deaths may be declared apart, and a re-plan onto n2 in between is recovered from again: the last one counts.
        Assert.Equal("disk", recovered["source"]!.GetValue<string>());
        Assert.Equal(0, recovered["from_step"]!.GetValue<long>() % 5); // a committed checkpoint's step (every 5), not a snapshot's
    }

    /// <summary>
    /// A recovery leaves the step restored on the surviving holder only (from memory), or on none (from disk). The new
    /// epoch's rank 0 copies it to its holders lacking it before its first step, so killing that surviving holder too, while rank 0 stalls before the
    /// epoch's first step (no snapshot of the epoch exists yet), still recovers from memory at the same step, not disk.
    /// </summary>
    [Fact]
    public async Task AfterARecoveryFromMemory_TheStepRestoredReachesTheNewHolderAtOnce_SoASecondLossBeforeAnySnapshotStillRecoversFromMemory()
    {
        long restored = -1;
        var stall = new JsonObject { ["stall_rank"] = 0, ["stall_step"] = 1, ["stall_s"] = 30, ["epoch"] = 2 };
        var recovered = await RunAsync("refill", async (job, client, store, silos) =>
        {
            silos.Single(s => s.Node == "n1").Kill();
            var second = await OneNodeCluster.WaitForAsync(job, s => (s.Epoch == 2 && s.Phase == JobPhase.Running) || s.IsFinal, TimeSpan.FromSeconds(60));
            Assert.Equal(2L, second.Epoch);
            // The first recovery is from memory, or (seen once on a loaded machine) from the disk checkpoint: either way the
            // resumed rank 0 refills its holders lacking the step restored (n3, and n2 after a disk resume).
            var first = JsonNode.Parse((await store.ListJobEventsAsync("refill")).Single(e => e.Kind == "recovered").DetailJson!)!;
            output.WriteLine($"first recovery: {first.ToJsonString()}");
            restored = first["from_step"]!.GetValue<long>();
            Assert.Equal(["n2", "n3"], second.Plan!.Ranks.Select(r => r.Node).Distinct().Order(StringComparer.Ordinal));
            // n2 kept rank 0's copy of the step restored; n3 (the epoch's other holder) gets it from the resumed rank 0.
            var n3 = client.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf("refill", "n3"));
            var held = false;
            for (var i = 0; i < 100 && !held; i++, await Task.Delay(100))
                held = (await n3.Inventory()).Any(h => h.Rank == 0 && h.Step == restored);
            Assert.True(held, $"n3 does not hold rank 0's step {restored}");
            Assert.Equal(2L, (await job.GetStatus()).Epoch); // still stalled before the epoch's first step
            silos.Single(s => s.Node == "n2").Kill();
        }, stall);
        Assert.Equal("memory", recovered["source"]!.GetValue<string>());
        Assert.Equal(restored, recovered["from_step"]!.GetValue<long>());
    }

    private static Func<IJobGrain, IClusterClient, PostgresMetadataStore, List<SiloProcess>, Task> KillAsync(string[] nodes) => (_, _, _, silos) =>
    {
        foreach (var silo in silos.Where(s => nodes.Contains(s.Node))) silo.Kill();
        return Task.CompletedTask;
    };

    /// <summary>Runs the reference job, then the job that <paramref name="disrupt"/> kills nodes of mid-run; returns its last recovered event's detail.</summary>
    private async Task<JsonNode> RunAsync(string id, Func<IJobGrain, IClusterClient, PostgresMetadataStore, List<SiloProcess>, Task> disrupt, JsonObject? faults = null)
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
            await reference.Submit(JobSpecParser.Parse(Spec(id + "-ref", data, faults).ToJsonString())); // faults of a later epoch: none fire
            var done = await OneNodeCluster.WaitForAsync(reference, s => s.IsFinal, TimeSpan.FromSeconds(120));
            Assert.True(done.Phase == JobPhase.Completed, $"reference: {done.Phase}: {done.Error}");
            Assert.NotNull(done.MemoryStep);

            var job = connection.Client.GetGrain<IJobGrain>(id);
            var status = await job.Submit(JobSpecParser.Parse(Spec(id, data, faults).ToJsonString()));
            Assert.Equal(["n1", "n2"], status.Plan!.Ranks.Select(r => r.Node).Order(StringComparer.Ordinal));
            Assert.Equal("n1", status.Plan.Ranks.Single(r => r.Rank == 0).Node);
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 16 || s.IsFinal, TimeSpan.FromSeconds(120));
            // The memory bound: a holder keeps at most the newest complete copy and the one being written of each rank.
            var held = await connection.Client.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf(id, "n2")).Inventory();
            output.WriteLine($"n2 holds: {string.Join(", ", held.Select(h => $"rank {h.Rank}@{h.Step} ({h.Bytes} B)"))}");
            Assert.Contains(held, h => h.Rank == 0);
            Assert.All(held.GroupBy(h => h.Rank), g => Assert.True(g.Count() <= 2, $"rank {g.Key}: {g.Count()} copies"));

            await disrupt(job, connection.Client, store, silos);
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

    private static JsonObject Spec(string id, string data, JsonObject? faults)
    {
        var spec = TinyJob.Spec(id, data, Steps);
        if (faults is not null) spec["faults"] = faults.DeepClone();
        spec["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 2 };
        spec["checkpoint"] = new JsonObject { ["every"] = 5, ["keep"] = 2, ["memory_every"] = 1, ["memory_copies"] = 1 };
        return spec;
    }

    private static async Task<double[]> Losses(PostgresMetadataStore store, string job) =>
        (await store.QueryMetricsAsync(job, new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
}
