using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// Simulated devices for control-plane scale runs, for real: three silo processes of two nodes each (one Orleans
/// silo per node) with sim:2 devices, joined through PostgreSQL; a simulated job runs the rank protocol (step
/// reports, bias round trips, checkpoint shards and their two-phase commit), the process of rank 0 is killed by
/// pid, and the job resumes from its checkpoint to the same biases and loads as an uninterrupted run.
/// </summary>
public sealed class SimulatedJobTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-sim-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private const int Steps = 30;

    private static JobSpec Spec(string id)
    {
        var spec = TinyJob.Spec(id, "/unused", Steps);
        spec["parallel"] = new JsonObject { ["ep"] = 2, ["dp"] = 2 };
        spec["checkpoint"] = new JsonObject { ["every"] = 5, ["keep"] = 2 };
        spec["simulation"] = new JsonObject { ["step_ms"] = 100, ["shard_kb"] = 8, ["skew"] = 1.0 };
        return JobSpecParser.Parse(spec.ToJsonString());
    }

    [Fact]
    public async Task ASimulatedJob_SurvivesTheKillOfAProcessOfNodes_AndEndsOnTheBitsOfAnUninterruptedRun()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "sim-" + Guid.NewGuid().ToString("N")[..8];
        var storage = Path.Combine(_root, "storage");
        var processes = new List<SiloProcess>();
        try
        {
            foreach (var first in new[] { "n1", "n3", "n5" })
            {
                var (silo, gateway) = (Ports.FreeRun(2), Ports.FreeRun(2));
                processes.Add(await SiloProcess.StartAsync(connectionString, clusterId, first, "sim:2", silo, gateway, storage, timeout.Token, ["--nodes", "2"]));
            }

            await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
            await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
            var cluster = connection.Client.GetGrain<IClusterGrain>(IClusterGrain.Key);
            for (var i = 0; i < 100 && (await cluster.GetNodes()).Count(n => n.Alive) < 6; i++) await Task.Delay(200, timeout.Token);
            var nodes = await cluster.GetNodes();
            Assert.Equal(["n1", "n2", "n3", "n4", "n5", "n6"], nodes.Where(n => n.Alive).Select(n => n.Name).Order(StringComparer.Ordinal));
            Assert.All(nodes, n => Assert.Equal(["sim:0", "sim:1"], n.Devices));

            // A real job is never placed on simulated slots: this cluster has none for it.
            var real = JobSpecParser.Parse(TinyJob.Spec("real", "/unused", 2).ToJsonString());
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => connection.Client.GetGrain<IJobGrain>("real").Submit(real));
            Assert.Contains("the live nodes have 0 free", refused.Message, StringComparison.Ordinal);

            var job = connection.Client.GetGrain<IJobGrain>("sim");
            var status = await job.Submit(Spec("sim"));
            Assert.Equal(4, status.Plan!.Ranks.Count);
            Assert.All(status.Plan.Ranks, r => Assert.StartsWith("sim:", r.Device, StringComparison.Ordinal));
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 12 || s.IsFinal, TimeSpan.FromSeconds(60));
            for (var i = 0; i < 100 && !(await store.ListJobEventsAsync("sim")).Any(e => e.Kind == "checkpoint-committed"); i++) await Task.Delay(100, timeout.Token);

            var rank0 = status.Plan.Ranks.Single(r => r.Rank == 0).Node;
            var victim = processes[(int.Parse(rank0[1..], System.Globalization.CultureInfo.InvariantCulture) - 1) / 2]; // n1–n2, n3–n4, n5–n6
            victim.Kill();
            output.WriteLine($"killed the process of {victim.Node} (rank 0 on {rank0})");
            var done = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(120));
            Assert.True(done.Phase == JobPhase.Completed, $"{done.Phase}: {done.Error}");
            Assert.True(done.Epoch >= 2, $"epoch {done.Epoch}: the kill did not cost the job a rank");

            var events = await store.ListJobEventsAsync("sim");
            // Every rank of every epoch reported its data plane, in batches: fewer events than reports.
            var planes = events.Where(e => e.Kind == "data-plane").Select(e => JsonNode.Parse(e.DetailJson!)!).ToList();
            var reports = planes.SelectMany(p => p["ranks"]!.AsArray()).Select(r => ((long)r!["epoch"]!, (int)r["rank"]!, (string)r["reason"]!)).ToList();
            foreach (var epoch in new long[] { 1, done.Epoch })
                Assert.Equal([0, 1, 2, 3], reports.Where(r => r.Item1 == epoch).Select(r => r.Item2).Order());
            Assert.All(reports, r => Assert.Contains("simulated ranks", r.Item3, StringComparison.Ordinal));
            Assert.True(planes.Count < reports.Count, $"{planes.Count} data-plane events for {reports.Count} reports");
            var commits = events.Where(e => e.Kind == "checkpoint-committed").Select(e => JsonNode.Parse(e.DetailJson!)!).ToList();
            Assert.All(commits, c => Assert.Equal(4, (int)c["shards"]!));
            var resumed = JsonNode.Parse(events.Last(e => e.Kind == "recovered").DetailJson!)!;
            Assert.True((long)resumed["from_step"]! > 0, $"recovered from step {resumed["from_step"]}");

            // The uninterrupted run of the same spec, on the nodes left.
            var reference = connection.Client.GetGrain<IJobGrain>("sim-reference");
            await reference.Submit(Spec("sim-reference"));
            var finished = await OneNodeCluster.WaitForAsync(reference, s => s.IsFinal, TimeSpan.FromSeconds(120));
            Assert.Equal(JobPhase.Completed, finished.Phase);

            var resumedLoads = await store.QueryExpertLoadsAsync("sim", Steps, Steps);
            var referenceLoads = await store.QueryExpertLoadsAsync("sim-reference", Steps, Steps);
            Assert.NotEmpty(referenceLoads);
            Assert.Equal(referenceLoads.Select(s => (s.Layer, string.Join(",", s.Loads), string.Join(",", s.Biases))),
                resumedLoads.Select(s => (s.Layer, string.Join(",", s.Loads), string.Join(",", s.Biases))));
            Assert.Contains(referenceLoads[0].Biases, b => b != 0); // the balancer moved the biases: the comparison has teeth
        }
        catch
        {
            foreach (var process in processes) output.WriteLine($"--- {process.Node} ---\n{process.Tail()}");
            throw;
        }
        finally
        {
            foreach (var process in processes) process.Dispose();
        }
    }
}
