using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Kernels.Training;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// Live expert re-placement in a cluster job (EP 4 over two silo processes, 8 experts + 4 redundant slots, a real
/// PostgreSQL): the job's load balancer decides every 3 steps, the ranks move experts at the step boundary, the job
/// stores each move; the losses are those of the same job with re-placement off, and a resume from a checkpoint made
/// between two moves restores that checkpoint's map.
/// </summary>
public sealed class ExpertReplacementJobTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Steps = 9;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-eplb-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private static JsonObject Spec(string id, string data, bool replacing)
    {
        var spec = TinyJob.Spec(id, data, Steps);
        spec["training"]!["micro_batch_size"] = 1;
        spec["parallel"] = new JsonObject { ["ep"] = 4, ["redundant_experts"] = 4 };
        spec["checkpoint"] = new JsonObject { ["every"] = 3, ["keep"] = 5 };
        if (replacing) spec["balancing"] = new JsonObject { ["replace_every"] = 3 };
        return spec;
    }

    [Fact]
    public async Task ReplacingJob_TrainsTheLossesOfTheJobThatStays_StoresItsMoves_AndResumesOnItsCheckpointsMap()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(600));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "eplb-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        var storage = Path.Combine(_root, "storage");
        var nodes = await Task.WhenAll(
            SiloProcess.StartAsync(connectionString, clusterId, "n1", "cpu:2", ports[0], ports[1], storage, timeout.Token),
            SiloProcess.StartAsync(connectionString, clusterId, "n2", "cpu:2", ports[2], ports[3], storage, timeout.Token));
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        try
        {
            var stays = await RunAsync(connection, store, Spec("eplb-off", data, replacing: false));
            var moves = await RunAsync(connection, store, Spec("eplb-on", data, replacing: true));

            // The same math: bit-identical until the first move, then within 1e-5 (a replicated expert's rows run as
            // smaller GEMMs and its gradient is its copies' sum: see ExpertMapTrainingTests).
            var replacements = await Replacements(connection, "eplb-on");
            Assert.NotEmpty(replacements);
            var first = replacements[0].GetProperty("step").GetInt64();
            foreach (var (step, loss) in moves)
                Assert.Equal(stays[step], loss, step <= first ? 0 : stays[step] * 1e-5);
            Assert.Empty(await Replacements(connection, "eplb-off"));
            long version = 0;
            foreach (var r in replacements)
            {
                Assert.Equal(0, r.GetProperty("step").GetInt64() % 3);
                Assert.Equal(version, r.GetProperty("from").GetProperty("version").GetInt64());
                version = r.GetProperty("to").GetProperty("version").GetInt64();
                Assert.NotEqual(r.GetProperty("from").GetProperty("slots").GetRawText(), r.GetProperty("to").GetProperty("slots").GetRawText());
                Assert.True(r.GetProperty("copies").GetInt32() > 0 && r.GetProperty("bytes").GetInt64() > 0);
                output.WriteLine($"step {r.GetProperty("step")}: v{r.GetProperty("to").GetProperty("version")} {r.GetProperty("to").GetProperty("slots")}, " +
                    $"rank loads {r.GetProperty("rank_loads_before")} → {r.GetProperty("rank_loads_after")}, {r.GetProperty("copies")} copies, {r.GetProperty("bytes")} B");
            }

            // The step-3 checkpoint records the map the move at step 3 made (not a later one); a job resumed from it
            // routes by that map, then moves as the original did, to the same bits.
            var checkpoint = await store.GetCheckpointAsync("eplb-on", 3) ?? throw new InvalidOperationException("no step-3 checkpoint");
            var recorded = JsonSerializer.Deserialize<TrainerState>(checkpoint.StateJson)!.ExpertMap;
            var atThree = replacements.LastOrDefault(r => r.GetProperty("step").GetInt64() <= 3);
            Assert.Equal(atThree.ValueKind == JsonValueKind.Undefined ? 0 : atThree.GetProperty("to").GetProperty("version").GetInt64(), recorded?.Version ?? 0);
            var resume = Spec("eplb-resumed", data, replacing: true);
            resume["resume_from"] = new JsonObject { ["job"] = "eplb-on", ["step"] = 3 };
            var resumed = await RunAsync(connection, store, resume);
            Assert.Equal(Enumerable.Range(4, Steps - 3).Select(s => (long)s), resumed.Keys.Order());
            foreach (var (step, loss) in resumed) Assert.Equal(moves[step], loss);
            var later = await Replacements(connection, "eplb-resumed");
            Assert.Equal(replacements.Where(r => r.GetProperty("step").GetInt64() > 3).Select(r => r.GetProperty("to").GetProperty("slots").GetRawText()),
                later.Select(r => r.GetProperty("to").GetProperty("slots").GetRawText()));
            // That checkpoint was made before a later move (the one after step 6): the resumed job started on the
            // checkpoint's own map, not the newest one, and made that later move from it.
            Assert.Contains(replacements, r => r.GetProperty("step").GetInt64() > 3);
            Assert.True((recorded?.Version ?? 0) < replacements[^1].GetProperty("to").GetProperty("version").GetInt64());
            Assert.NotEmpty(later);
            Assert.Equal(recorded?.Version ?? 0, later[0].GetProperty("from").GetProperty("version").GetInt64());
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, nodes);
            throw;
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    /// <summary>
    /// A move after every step (window 1, so a resumed run decides as the uninterrupted one did) when the silo of some of
    /// the job's ranks is killed by pid: the kill lands in a step or in a move; the job recovers onto the live nodes from
    /// its newest checkpoint, on that checkpoint's map, and trains every step to the uninterrupted run's bits, making the
    /// same moves.
    /// </summary>
    [Fact]
    public async Task KillingASiloWhileExpertsMoveEveryStep_RecoversOnTheCheckpointsMap_ToTheUninterruptedBits()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(400));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "eplbk-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(6);
        var storage = Path.Combine(_root, "storage");
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            SiloProcess.StartAsync(connectionString, clusterId, $"n{i + 1}", "cpu:2", ports[2 * i], ports[2 * i + 1], storage, timeout.Token)));
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        JsonObject Every(string id)
        {
            var spec = Spec(id, data, replacing: true);
            spec["steps"] = 12;
            spec["checkpoint"] = new JsonObject { ["every"] = 2, ["keep"] = 10 };
            spec["balancing"] = new JsonObject { ["replace_every"] = 1, ["replace_window"] = 1 };
            return spec;
        }
        try
        {
            var reference = await RunAsync(connection, store, Every("eplb-ref"));
            var moved = (await Replacements(connection, "eplb-ref")).ToDictionary(r => r.GetProperty("step").GetInt64(), Placement);
            Assert.True(moved.Count >= 6, $"only {moved.Count} moves in 12 steps");

            var job = connection.Client.GetGrain<IJobGrain>("eplb-kill");
            var status = await job.Submit(JobSpecParser.Parse(Every("eplb-kill").ToJsonString()));
            var victim = status.Plan!.Ranks.Select(r => r.Node).Distinct().Order().Last();
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 5 || s.IsFinal, TimeSpan.FromSeconds(120));
            nodes.Single(n => n.Node == victim).Kill();
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.Equal(2L, final.Epoch);
            Assert.DoesNotContain(final.Plan!.Ranks, r => r.Node == victim);

            // Every step's loss (replayed steps overwrite) is the uninterrupted run's, to the bit.
            var losses = (await store.QueryMetricsAsync("eplb-kill", new MetricQuery("loss"))).ToDictionary(m => m.Step, m => m.Value);
            Assert.Equal(reference.OrderBy(l => l.Key), losses.OrderBy(l => l.Key));
            // It resumed from a checkpoint recorded on the map the uninterrupted run had at that step.
            var events = await job.GetEvents();
            var from = JsonDocument.Parse(events.Single(e => e.Kind == "recovered").DetailJson!).RootElement.GetProperty("from_step").GetInt64();
            var checkpoint = await store.GetCheckpointAsync("eplb-kill", from) ?? throw new InvalidOperationException($"no checkpoint at step {from}");
            var recorded = JsonSerializer.Deserialize<TrainerState>(checkpoint.StateJson)!.ExpertMap;
            Assert.Equal(moved.Where(m => m.Key <= from).Select(m => m.Value.Version).DefaultIfEmpty(0).Max(), recorded?.Version ?? 0);
            // Every move either epoch made (the replayed ones twice) is the uninterrupted run's move of that step.
            var kill = await Replacements(connection, "eplb-kill");
            Assert.Contains(kill, r => r.GetProperty("epoch").GetInt64() == 2);
            foreach (var r in kill) Assert.Equal(moved[r.GetProperty("step").GetInt64()], Placement(r));
            output.WriteLine($"killed {victim} at step ≥ 5; resumed from step {from} on map v{recorded?.Version ?? 0}; {kill.Count} moves stored over both epochs");
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, nodes);
            throw;
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    private static (long Version, string Slots) Placement(JsonElement replacement) =>
        (replacement.GetProperty("to").GetProperty("version").GetInt64(), replacement.GetProperty("to").GetProperty("slots").GetRawText());

    private async Task<Dictionary<long, double>> RunAsync(ClusterConnection connection, PostgresMetadataStore store, JsonObject spec)
    {
        var id = spec["id"]!.GetValue<string>();
        var job = connection.Client.GetGrain<IJobGrain>(id);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
        Assert.True(final.Phase == JobPhase.Completed, $"{id}: {final.Phase}: {final.Error}");
        Assert.True(await connection.Client.GetGrain<ICheckpointCoordinatorGrain>(id).Drain(TimeSpan.FromSeconds(60)), "commits still pending");
        var losses = (await store.QueryMetricsAsync(id, new MetricQuery("loss"))).ToDictionary(m => m.Step, m => m.Value);
        output.WriteLine($"{id}: {clock.Elapsed.TotalSeconds:F1} s, losses {string.Join(", ", losses.OrderBy(l => l.Key).Select(l => l.Value))}");
        return losses;
    }

    private static async Task<List<JsonElement>> Replacements(ClusterConnection connection, string id) =>
        (await connection.Client.GetGrain<IJobGrain>(id).GetEvents())
            .Where(e => e.Kind == "expert-replacement")
            .Select(e => JsonDocument.Parse(e.DetailJson!).RootElement.Clone())
            .ToList();
}
