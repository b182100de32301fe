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
            if (later.Count > 0) Assert.Equal(recorded?.Version ?? 0, later[0].GetProperty("from").GetProperty("version").GetInt64());
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
