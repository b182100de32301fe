using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Pipeline;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// Pipeline jobs on simulated devices, for the control plane at scale (EP × PP × DP of DeepSeek-V3's shape): one silo
/// process of two nodes with sim:2 each runs a pp 2 × ep 2 job; every stage's grain holds the schedule's timeline of
/// the newest step (its computes, in the schedule's order, lasting the simulated step), the job counts one
/// pipeline's tokens per batch, and every rank's shard is committed.
/// </summary>
public sealed class SimulatedPipelineJobTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Steps = 20;
    private const int MicroBatches = 4;
    private const double StepMs = 60;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-sim-pp-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("1f1b", "F,B")]
    [InlineData("zb1p", "F,Bi,W")]
    public async Task ASimulatedPipelineJob_RecordsEachStagesScheduleAndCommitsEveryShard(string schedule, string ops)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var connectionString = await _postgres.DatabaseForAsync(GetType(), schedule);
        var clusterId = "simpp-" + Guid.NewGuid().ToString("N")[..8];
        var (silo, gateway) = (Ports.FreeRun(2), Ports.FreeRun(2));
        using var process = await SiloProcess.StartAsync(connectionString, clusterId, "n1", "sim:2", silo, gateway, Path.Combine(_root, schedule), timeout.Token, ["--nodes", "2"]);
        try
        {
            await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
            await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
            var cluster = connection.Client.GetGrain<IClusterGrain>(IClusterGrain.Key);
            for (var i = 0; i < 100 && (await cluster.GetNodes()).Count(n => n.Alive) < 2; i++) await Task.Delay(200, timeout.Token);

            var job = connection.Client.GetGrain<IJobGrain>("simpp");
            var status = await job.Submit(Spec("simpp", schedule));
            Assert.Equal(4, status.Plan!.Ranks.Count);
            var done = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(120));
            Assert.True(done.Phase == JobPhase.Completed, $"{done.Phase}: {done.Error}");
            Assert.Equal(Steps, done.Step);

            // Each stage's grain sits on the node of its first rank (ep rank 0 of the stage) and holds the last step.
            var ends = new List<double>();
            foreach (var stage in new[] { 0, 1 })
            {
                var first = status.Plan.Ranks.Single(r => r.Rank == stage * 2);
                var timeline = await connection.Client.GetGrain<IPipelineStageGrain>(PipelineStageGrain.KeyOf("simpp", 1, stage, first.Node)).Latest();
                Assert.NotNull(timeline);
                output.WriteLine($"stage {stage}: step {timeline.Step}, {string.Join(' ', timeline.Intervals.Select(i => $"{i.Op}{i.MicroBatch}@{i.StartMs:F0}"))}");
                Assert.Equal((1L, stage, (long)Steps, schedule), (timeline.Epoch, timeline.Stage, timeline.Step, timeline.Schedule));
                Assert.Equal([stage], timeline.VirtualStages);
                // Every micro-batch through every compute of the schedule, each once, in time order, within the step.
                Assert.Equal(ops.Split(',').SelectMany(op => Enumerable.Range(0, MicroBatches).Select(m => $"{op}{m}")).Order(StringComparer.Ordinal),
                    timeline.Intervals.Select(i => $"{i.Op}{i.MicroBatch}").Order(StringComparer.Ordinal));
                Assert.Equal(timeline.Intervals.OrderBy(i => i.StartMs), timeline.Intervals);
                Assert.InRange(timeline.Intervals.Max(i => i.EndMs), 0, StepMs + 1e-6);
                ends.Add(timeline.Intervals.Max(i => i.EndMs));
                Assert.True(timeline.ComputeMs < StepMs, "a stage of a two-stage pipeline idles in its bubble");
            }
            Assert.InRange(ends.Max(), StepMs - 1e-6, StepMs + 1e-6); // the step's program lasts the simulated step
            var events = await store.ListJobEventsAsync("simpp");
            Assert.Contains(events, e => e.Kind == "checkpoint-committed");
            var checkpoint = (await store.ListCheckpointsAsync("simpp")).MaxBy(c => c.Step)!;
            Assert.Equal(Steps, checkpoint.Step);
            Assert.Equal(4, checkpoint.Shards.Count);
        }
        catch
        {
            output.WriteLine(process.Tail());
            throw;
        }
    }

    private static JobSpec Spec(string id, string schedule)
    {
        var spec = TinyJob.Spec(id, "/unused", Steps);
        spec["model"]!["n_layers"] = 4;
        spec["training"]!["gradient_accumulation"] = MicroBatches;
        spec["parallel"] = new JsonObject { ["pp"] = 2, ["ep"] = 2, ["schedule"] = schedule };
        spec["checkpoint"] = new JsonObject { ["every"] = 10, ["keep"] = 2 };
        spec["simulation"] = new JsonObject { ["step_ms"] = StepMs, ["shard_kb"] = 4 };
        return JobSpecParser.Parse(spec.ToJsonString());
    }
}
