using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// Pipeline stages on ranks of real silo processes (activations and input gradients as grain calls between rank
/// grains, on a real PostgreSQL) against the same model trained in this process with the same micro-batching: the
/// committed checkpoint of the last step holds the single-process weights bit for bit.
/// </summary>
public sealed class PipelineJobTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Steps = 4;
    private const int MicroBatches = 4;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-pp-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public Task OneFOneBOverTwoSilos_EndsWithTheSingleProcessWeights() => Compare("1f1b");

    [Fact]
    public Task DualPipeVOverTwoSilos_EndsWithTheSingleProcessWeights() => Compare("dualpipev");

    /// <summary>
    /// Three one-slot silos, a pp 2 job on two of them; the silo that holds stage 1 is killed by pid. The job re-plans
    /// onto the two live nodes, resumes from the newest committed checkpoint, and its last checkpoint holds the weights
    /// of an uninterrupted single-process run, bit for bit.
    /// </summary>
    [Fact]
    public async Task KillingTheSiloOfAStage_ResumesFromTheLastCommit_AndEndsWithTheUninterruptedWeights()
    {
        const int steps = 12;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType(), "kill");
        var clusterId = "ppk-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(6);
        var storage = Path.Combine(_root, "storage-kill");
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => SiloProcess.StartAsync(connectionString, clusterId, $"n{i + 1}",
            "cpu:1", ports[2 * i], ports[2 * i + 1], storage, timeout.Token)));
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        try
        {
            var spec = Spec("pp2-kill", data, "1f1b", steps);
            spec["checkpoint"] = new JsonObject { ["every"] = 2, ["keep"] = 2 };
            var job = connection.Client.GetGrain<IJobGrain>("pp2-kill");
            var status = await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
            var stage1 = status.Plan!.Ranks.Single(r => r.Rank == 1).Node;
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 3 || s.IsFinal, TimeSpan.FromSeconds(120));
            for (var i = 0; i < 100 && !(await store.ListJobEventsAsync("pp2-kill")).Any(e => e.Kind == "checkpoint-committed"); i++) await Task.Delay(100);
            nodes.Single(n => n.Node == stage1).Kill();

            // The first recovery may come from rank 0's failed exchange with the dead stage before the node is declared
            // dead, and plan on it again; the job then recovers once more. Wait for a plan without the dead node.
            var recovered = await OneNodeCluster.WaitForAsync(job, s => (s.Epoch >= 2 && s.Plan is { } p && p.Ranks.All(r => r.Node != stage1)) || s.IsFinal,
                TimeSpan.FromSeconds(90));
            Assert.True(recovered.Epoch >= 2, $"epoch {recovered.Epoch}: {recovered.Phase} {recovered.Error}");
            Assert.DoesNotContain(recovered.Plan!.Ranks, r => r.Node == stage1);
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(180));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.True(await connection.Client.GetGrain<ICheckpointCoordinatorGrain>("pp2-kill").Drain(TimeSpan.FromSeconds(60)), "commits still pending");
            var events = await store.ListJobEventsAsync("pp2-kill");
            var resumedFrom = JsonNode.Parse(events.Last(e => e.Kind == "recovered").DetailJson!)!["from_step"]!.GetValue<long>();
            Assert.True(resumedFrom >= 2, $"resumed from step {resumedFrom}, not from a checkpoint");
            output.WriteLine($"stage 1's silo {stage1} killed; resumed from step {resumedFrom} on {string.Join(", ", final.Plan!.Ranks.Select(r => r.Node))}");

            var single = SingleProcess(data, spec, steps);
            await VerifyCheckpointAsync(store, "pp2-kill", storage, single.Weights, steps, "after the kill");
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
    /// pp 2 × dp 2, or pp 2 × ep 2, over two silos: each replica's pipeline trains its rows and the stages average their
    /// gradients across silos, or each stage shards its routed experts over two ranks (tokens through the all-to-all);
    /// against one process over the whole batch (not bit for bit: a rank's GEMMs reduce over its own rows).
    /// </summary>
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 1)]
    public async Task ReplicatedOrExpertShardedPipelinesOverTwoSilos_TrainAsOneProcessOverTheWholeBatch(int ep, int dp)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType(), $"ep{ep}dp{dp}");
        var clusterId = "ppd-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        var storage = Path.Combine(_root, $"storage-ep{ep}-dp{dp}");
        var nodes = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => SiloProcess.StartAsync(connectionString, clusterId, $"n{i + 1}",
            "cpu:2", ports[2 * i], ports[2 * i + 1], storage, timeout.Token)));
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        try
        {
            var id = $"pp2-ep{ep}-dp{dp}";
            var spec = Spec(id, data, "1f1b");
            spec["parallel"]!["dp"] = dp;
            spec["parallel"]!["ep"] = ep;
            var job = connection.Client.GetGrain<IJobGrain>(id);
            var status = await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
            Assert.Equal(["n1", "n2"], status.Plan!.Ranks.Select(r => r.Node).Distinct().Order());
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.True(await connection.Client.GetGrain<ICheckpointCoordinatorGrain>(id).Drain(TimeSpan.FromSeconds(60)), "commits still pending");

            var whole = (JsonObject)spec.DeepClone();
            whole["training"]!["micro_batch_size"] = 2; // every rank's rows of a stage in one process
            var single = SingleProcess(data, whole);
            var losses = (await store.QueryMetricsAsync(id, new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            var maxVio = (await store.QueryMetricsAsync(id, new MetricQuery("max_vio"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            Assert.Equal(Steps, losses.Length);
            for (var s = 0; s < Steps; s++)
            {
                Assert.Equal(single.Reports[s].Loss, losses[s], single.Reports[s].Loss * 1e-5);
                Assert.Equal(single.Reports[s].MaxViolationOverLayers, maxVio[s]); // loads summed over stages and replicas
            }

            await VerifyCheckpointAsync(store, id, storage, single.Weights, Steps, id, ranks: 4, tolerance: 1e-5);
            output.WriteLine($"{id} over two silos: losses {string.Join(", ", losses)}; single {string.Join(", ", single.Reports.Select(r => r.Loss))}");
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

    private async Task Compare(string schedule)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType(), schedule);
        var clusterId = "pp-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        var storage = Path.Combine(_root, "storage-" + schedule);
        var nodes = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => SiloProcess.StartAsync(connectionString, clusterId, $"n{i + 1}",
            "cpu:1", ports[2 * i], ports[2 * i + 1], storage, timeout.Token)));
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        try
        {
            var id = "pp2-" + schedule;
            var spec = Spec(id, data, schedule);
            var job = connection.Client.GetGrain<IJobGrain>(id);
            var status = await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
            Assert.Equal(["n1", "n2"], status.Plan!.Ranks.Select(r => r.Node).Distinct().Order());
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.True(await connection.Client.GetGrain<ICheckpointCoordinatorGrain>(id).Drain(TimeSpan.FromSeconds(60)), "commits still pending");

            var single = SingleProcess(data, spec);
            var losses = (await store.QueryMetricsAsync(id, new MetricQuery("loss"))).OrderBy(m => m.Step).ToArray();
            var maxVio = (await store.QueryMetricsAsync(id, new MetricQuery("max_vio"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            Assert.Equal(Steps, losses.Length);
            for (var s = 0; s < Steps; s++)
            {
                // The stored loss is main + balance summed per stage: the same terms in another order, so within 1e-6.
                Assert.Equal(single.Reports[s].Loss, losses[s].Value, single.Reports[s].Loss * 1e-6);
                Assert.Equal(single.Reports[s].MaxViolationOverLayers, maxVio[s]); // the loads summed over stages: the same routing
            }

            // The job's throughput counts the pipeline's tokens once, not once per stage (the last report may be either
            // stage's, whose step times differ a little: within a quarter, where counting twice would be twice).
            var lastRate = (await store.QueryMetricsAsync(id, new MetricQuery("tokens_per_s"))).OrderBy(m => m.Step).Last().Value;
            Assert.InRange(final.TokensPerSecond, lastRate * 0.75, lastRate * 1.25);
            await VerifyCheckpointAsync(store, id, storage, single.Weights, Steps, schedule);
            if (schedule == "dualpipev") await VerifyRestoreIntoOneRankAsync(connection, store, id, storage, single.Weights);
            output.WriteLine($"{schedule} pp 2 over two silos: the step-{Steps} checkpoint equal to the bit; losses {string.Join(", ", losses.Select(l => l.Value))}");
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
    /// The pp 2 job's step-2 checkpoint restored into one rank (`orchestrator restore --parallel`): its shards are read by
    /// tensor name, and the continuation ends with the uninterrupted single-process weights bit for bit.
    /// </summary>
    private async Task VerifyRestoreIntoOneRankAsync(ClusterConnection connection, PostgresMetadataStore store, string id, string storage, Dictionary<string, float[]> single)
    {
        var record = await store.GetJobAsync(id) ?? throw new InvalidOperationException("no such job");
        var committed = (await store.ListCheckpointsAsync(id)).Select(c => c.Step).ToList();
        Assert.Throws<JobSpecException>(() => JobRestore.From(id, record.SpecJson, 2, committed, id + "-x", "{\"pp\": "));
        var spec = JobRestore.From(id, record.SpecJson, 2, committed, id + "-pp1", "{\"pp\": 1}");
        Assert.Equal(1, spec.Layout.Stages);
        var job = connection.Client.GetGrain<IJobGrain>(spec.Id);
        await job.Submit(spec);
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(120));
        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        Assert.True(await connection.Client.GetGrain<ICheckpointCoordinatorGrain>(spec.Id).Drain(TimeSpan.FromSeconds(60)), "commits still pending");
        await VerifyCheckpointAsync(store, spec.Id, storage, single, Steps, "restored from pp 2 into one rank", ranks: 1);
        output.WriteLine($"{id}@2 restored into pp 1: the step-{Steps} checkpoint equal to the bit");
    }

    /// <summary>Every weight of the newest committed checkpoint (at <paramref name="step"/>) equals the single-process one.</summary>
    private static async Task VerifyCheckpointAsync(PostgresMetadataStore store, string id, string storage, Dictionary<string, float[]> single, long step,
        string what, int ranks = 2, double tolerance = 0)
    {
        var checkpoint = await store.GetCheckpointAsync(id) ?? throw new InvalidOperationException("no committed checkpoint");
        Assert.Equal(step, checkpoint.Step);
        Assert.Equal(Enumerable.Range(0, ranks), checkpoint.Shards.Select(s => s.Rank).Order());
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var shard in checkpoint.Shards)
            foreach (var (name, tensor) in TensorArchive.Read(ShardPaths.Absolute(storage, shard.Path)))
                using (tensor)
                    if (name.StartsWith(TrainerShards.ModelPrefix, StringComparison.Ordinal) && tensor.dtype == TorchSharp.torch.ScalarType.Float32)
                        weights[name[TrainerShards.ModelPrefix.Length..]] = tensor.data<float>().ToArray();
        Assert.Equal(single.Keys.Order(), weights.Keys.Order());
        foreach (var (name, values) in single)
            Assert.True(tolerance == 0 ? values.SequenceEqual(weights[name]) : values.Zip(weights[name], (a, b) => Math.Abs(a - b)).Max() < tolerance,
                $"{what}: {name} in the step-{step} checkpoint differs from the single-process weights");
    }

    private static JsonObject Spec(string id, string data, string schedule, long steps = Steps)
    {
        var spec = TinyJob.Spec(id, data, steps);
        spec["model"]!["n_layers"] = 4;
        spec["training"]!["micro_batch_size"] = 1;
        spec["training"]!["gradient_accumulation"] = MicroBatches;
        spec["parallel"] = new JsonObject { ["pp"] = 2, ["schedule"] = schedule };
        spec["checkpoint"] = new JsonObject { ["every"] = Math.Min(steps, 2), ["keep"] = 2 };
        return spec;
    }

    private static (StepReport[] Reports, Dictionary<string, float[]> Weights) SingleProcess(string data, JsonObject spec, int steps = Steps)
    {
        LibTorchRuntime.Initialize();
        var config = ConfigLoader.Parse(new JsonObject { ["model"] = spec["model"]!.DeepClone(), ["training"] = spec["training"]!.DeepClone() }.ToJsonString());
        var training = config.Training!;
        TorchSharp.torch.set_num_threads(training.Threads); // as the ranks run: the GEMMs block their sums by thread count
        using var dataset = TokenDataset.Open(data);
        var window = training.SequenceLength + 1 + config.Model!.MtpDepth;
        using var trainer = new Trainer(config.Model, training,
            new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation), steps);
        var reports = Enumerable.Range(0, steps).Select(_ => trainer.TrainStep()).ToArray();
        var weights = trainer.NamedTensors().Where(t => t.Tensor.dtype == TorchSharp.torch.ScalarType.Float32)
            .ToDictionary(t => t.Name, t => t.Tensor.data<float>().ToArray());
        return (reports, weights);
    }
}
