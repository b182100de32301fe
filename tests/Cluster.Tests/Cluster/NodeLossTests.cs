using System.Diagnostics;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using Orchestrator.Silo.Cluster;
using System.Text.Json.Nodes;
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

    // Enough steps that the job cannot finish between the first committed checkpoint and the kill on a loaded
    // two-core machine (24 did, once: the kill then found nothing to recover).
    private const int Steps = 96;

    [Fact]
    public async Task KillingTheSiloOfARank_RecoversOnTheLiveNode_AndTrainsTheSameBitsAsAnUninterruptedRun()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "nl-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        var storage = Path.Combine(_root, "storage");
        var start1 = SiloProcess.StartAsync(connectionString, clusterId, "n1", "cpu:1", ports[0], ports[1], storage, timeout.Token);
        var start2 = SiloProcess.StartAsync(connectionString, clusterId, "n2", "cpu:2", ports[2], ports[3], storage, timeout.Token);
        using var n1 = await start1;
        using var n2 = await start2;
        try
        {
            await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
            await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
            var nodes = await connection.Client.GetGrain<IClusterGrain>(IClusterGrain.Key).GetNodes();
            Assert.Equal([("n1", true), ("n2", true)], nodes.Select(n => (n.Name, n.Alive)));

            // n2 has the most free slots, so the planner puts the single rank there.
            var job = connection.Client.GetGrain<IJobGrain>("survivor");
            // A checkpoint every step: a shard write is usually in flight when the kill comes.
            var spec = TinyJob.Spec("survivor", data, Steps);
            spec["checkpoint"] = new JsonObject { ["every"] = 1, ["keep"] = 3 };
            var status = await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
            var rank = Assert.Single(status.Plan!.Ranks);
            Assert.Equal("n2", rank.Node);
            var rankGrain = connection.Client.GetGrain<IRankGrain>(new RankKey("survivor", status.Epoch, rank.Rank, rank.Node).ToString());
            Assert.Equal("n2", await rankGrain.GetSiloName());
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 3 || s.IsFinal, TimeSpan.FromSeconds(90));
            for (var i = 0; i < 100 && !(await store.ListJobEventsAsync("survivor")).Any(e => e.Kind == "checkpoint-committed"); i++) await Task.Delay(100);

            var before = await job.GetStatus();
            Assert.True(!before.IsFinal && before.Epoch == 1, $"the job must still run epoch 1 when its node is killed: {before.Phase} epoch {before.Epoch} at step {before.Step}");
            var clock = Stopwatch.StartNew();
            n2.Kill();
            // Clients that connect now still find the dead silo in the gateway list (it is not declared dead for
            // seconds): connecting and reading must go on to the live one, in-process and from the CLI.
            var readers = Enumerable.Range(0, 4).Select(_ => ReadThroughANewConnectionAsync(connectionString, clusterId, "survivor", timeout.Token)).ToArray();
            var cli = Cli.RunAsync("job", "survivor", "--json", "--postgres", connectionString, "--cluster-id", clusterId);
            var recovered = await OneNodeCluster.WaitForAsync(job, s => (s.Epoch == 2 && s.Phase is JobPhase.Running or JobPhase.Completed) || s.IsFinal, TimeSpan.FromSeconds(30));
            output.WriteLine($"job {recovered.Phase} as epoch {recovered.Epoch} {clock.Elapsed.TotalSeconds:F1} s after the kill");
            foreach (var phase in await Task.WhenAll(readers)) Assert.NotEqual(JobPhase.Submitted, phase);
            var shown = await cli;
            Assert.True(shown.ExitCode == 0, $"`orchestrator job` right after the kill: exit {shown.ExitCode}: {shown.Output}{shown.Error}");
            Assert.Contains("\"id\":\"survivor\"", shown.Output, StringComparison.Ordinal);
            Assert.Equal(2L, recovered.Epoch);
            Assert.True(recovered.Phase is JobPhase.Running or JobPhase.Completed, $"{recovered.Phase}: {recovered.Error}");
            Assert.Equal("n1", Assert.Single(recovered.Plan!.Ranks).Node);

            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(120));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            // The final event is written just after the final state.
            var events = new List<JobEvent>();
            for (var i = 0; i < 50 && !events.Any(e => e.Kind == "completed"); i++, await Task.Delay(100))
                events = (await store.ListJobEventsAsync("survivor")).ToList();
            output.WriteLine(string.Join(", ", events.Select(e => e.Kind)));
            Assert.Equal(["submitted", "planned", "started", "node-lost", "recovering", "planned", "recovered", "completed"],
                events.Select(e => e.Kind).Where(k => !k.StartsWith("checkpoint-", StringComparison.Ordinal) && k is not "data-plane" and not "resumed"));
            // It resumed from the newest checkpoint the first epoch committed (its shards may have been
            // prepared just before the kill and committed just after), not from the seed.
            var committedByFirstEpoch = events.Where(e => e.Kind == "checkpoint-committed").Select(e => JsonNode.Parse(e.DetailJson!)!)
                .Where(d => d["epoch"]!.GetValue<long>() == 1).Select(d => d["step"]!.GetValue<long>()).DefaultIfEmpty(0).Max();
            var resumedFrom = JsonNode.Parse(events.Single(e => e.Kind == "recovered").DetailJson!)!["from_step"]!.GetValue<long>();
            output.WriteLine($"resumed from step {resumedFrom}; newest checkpoint of epoch 1: step {committedByFirstEpoch}");
            Assert.True(resumedFrom >= 1, $"resumed from step {resumedFrom}, not from a checkpoint");
            Assert.Equal(committedByFirstEpoch, resumedFrom);
            Assert.Contains(await store.ListNodesAsync(), n => n.Name == "n2" && n.Status == NodeStatus.Dead);
            await Assert.ThrowsAsync<StaleEpochException>(() => job.ReportStep(1, 0, new StepMetrics(99, 1, 1, 0, 0, [])));

            // Every step's loss (the replayed ones overwrite) equals the uninterrupted run's, to the bit.
            var losses = (await store.QueryMetricsAsync("survivor", new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            var uninterrupted = Uninterrupted(data);
            output.WriteLine($"cluster {string.Join(", ", losses)}\nsingle  {string.Join(", ", uninterrupted)}");
            Assert.Equal(uninterrupted, losses);

            // No committed checkpoint was lost or left unreadable: every one the index lists verifies.
            Assert.True(await connection.Client.GetGrain<ICheckpointCoordinatorGrain>("survivor").Drain(TimeSpan.FromSeconds(60)), "commits still pending");
            var verified = await Cli.RunAsync("checkpoints", "survivor", "--postgres", connectionString, "--verify", "--storage", storage);
            output.WriteLine(verified.Output);
            Assert.True(verified.ExitCode == 0, verified.Output + verified.Error);
            Assert.DoesNotContain("CORRUPT", verified.Output, StringComparison.Ordinal);
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, [n1, n2]);
            throw;
        }
    }

    /// <summary>
    /// EP = 4 over two nodes of two slots: when one dies the world no longer fits, so the job waits,
    /// visibly, for a node; the restarted node rejoins and is used. It is killed again during that recovery
    /// (right after the new plan, while ranks load the checkpoint) and restarted again. Every step that
    /// ran twice gave the same loss to the bit, and the job completes.
    /// </summary>
    [Fact]
    public async Task AnExpertParallelJob_WaitsForTheNodeToRejoin_SurvivesAKillDuringRecovery_AndReplaysTheSameBits()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(400));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "nw-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(8);
        var storage = Path.Combine(_root, "storage");
        Task<SiloProcess> Start(string node, int i) =>
            SiloProcess.StartAsync(connectionString, clusterId, node, "cpu:2", ports[2 * i], ports[2 * i + 1], storage, timeout.Token);
        var n1 = await Start("n1", 0);
        var n2 = await Start("n2", 1);
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        try
        {
            var spec = TinyJob.Spec("ep-rejoin", data, 60);
            spec["parallel"] = new JsonObject { ["ep"] = 4, ["dp"] = 1 };
            spec["training"]!["micro_batch_size"] = 1;
            spec["checkpoint"] = new JsonObject { ["every"] = 3, ["keep"] = 2 };
            var job = connection.Client.GetGrain<IJobGrain>("ep-rejoin");
            await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 8 || s.IsFinal, TimeSpan.FromSeconds(120));
            var before = await Losses(store, "ep-rejoin");

            n2.Kill();
            var waiting = await WaitForEventAsync(store, "ep-rejoin", "waiting-for-nodes", TimeSpan.FromSeconds(30));
            output.WriteLine($"waiting: {waiting.DetailJson}");
            Assert.Equal(JobPhase.Recovering, (await job.GetStatus()).Phase);

            n2.Dispose();
            n2 = await Start("n2", 2); // the node comes back (new process, new ports, same name)
            await OneNodeCluster.WaitForAsync(job, s => s.Epoch == 2 && s.Phase == JobPhase.Running || s.IsFinal, TimeSpan.FromSeconds(60));
            n2.Kill(); // during the recovery: its ranks are loading the checkpoint or on their first steps
            n2.Dispose();
            await WaitForEventAsync(store, "ep-rejoin", "waiting-for-nodes", TimeSpan.FromSeconds(30), after: waiting.Seq);
            n2 = await Start("n2", 3);

            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.True(final.Epoch >= 3, $"epoch {final.Epoch}");
            var after = await Losses(store, "ep-rejoin");
            Assert.Equal(60, after.Count);
            var replayed = before.Keys.Where(after.ContainsKey).ToList();
            output.WriteLine($"epoch {final.Epoch}; {replayed.Count} steps compared; events: {string.Join(", ", (await store.ListJobEventsAsync("ep-rejoin")).Select(e => e.Kind))}");
            foreach (var step in replayed) Assert.Equal(before[step], after[step]);
        }
        catch
        {
            SiloProcess.WriteTails(output.WriteLine, [n1, n2]);
            throw;
        }
        finally
        {
            n1.Dispose();
            n2.Dispose();
        }
    }

    /// <summary>
    /// The silo that hosts the job grain itself is killed (and, when it also held the rank, the rank with
    /// it): a surviving silo finds the job again from the index and it completes with the same bits.
    /// </summary>
    [Fact]
    public async Task KillingTheJobGrainsOwnSilo_TheJobIsFoundAgain_AndCompletesWithTheSameBits()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "jg-" + Guid.NewGuid().ToString("N")[..8];
        var data = TinyJob.Data(_root);
        var ports = Ports.Free(6);
        var storage = Path.Combine(_root, "storage");
        var silos = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            SiloProcess.StartAsync(connectionString, clusterId, $"n{i + 1}", "cpu:1", ports[2 * i], ports[2 * i + 1], storage, timeout.Token)));
        await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
        try
        {
            var job = connection.Client.GetGrain<IJobGrain>("orphan");
            await job.Submit(JobSpecParser.Parse(TinyJob.Spec("orphan", data, Steps).ToJsonString()));
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 3 || s.IsFinal, TimeSpan.FromSeconds(90));
            var identity = await job.GetSiloIdentity();
            var host = Enumerable.Range(0, 3).Single(i => identity.Contains($":{ports[2 * i]}:", StringComparison.Ordinal));
            output.WriteLine($"job grain on n{host + 1} ({identity}); rank on {(await job.GetStatus()).Plan!.Ranks[0].Node}");

            silos[host].Kill();
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(180));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.DoesNotContain($":{ports[2 * host]}:", await job.GetSiloIdentity(), StringComparison.Ordinal);
            var losses = (await store.QueryMetricsAsync("orphan", new MetricQuery("loss"))).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
            Assert.Equal(Uninterrupted(data), losses);
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

    private static async Task<JobPhase> ReadThroughANewConnectionAsync(string postgres, string clusterId, string job, CancellationToken cancellation)
    {
        await using var connection = await ClusterConnection.OpenAsync(postgres, clusterId, cancellation);
        return (await connection.CallAsync(c => c.GetGrain<IJobGrain>(job).GetStatus(), cancellation)).Phase;
    }

    private static async Task<Dictionary<long, double>> Losses(PostgresMetadataStore store, string job) =>
        (await store.QueryMetricsAsync(job, new MetricQuery("loss"))).ToDictionary(m => m.Step, m => m.Value);

    private static async Task<JobEvent> WaitForEventAsync(PostgresMetadataStore store, string job, string kind, TimeSpan patience, long after = 0)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            var found = (await store.ListJobEventsAsync(job)).FirstOrDefault(e => e.Kind == kind && e.Seq > after);
            if (found is not null) return found;
            await Task.Delay(200);
        }
        throw new TimeoutException($"no '{kind}' event for job {job} within {patience}: {string.Join(", ", (await store.ListJobEventsAsync(job)).Select(e => e.Kind))}");
    }

    private static double[] Uninterrupted(string data)
    {
        LibTorchRuntime.Initialize();
        var config = ConfigLoader.Parse(new JsonObject { ["model"] = TinyJob.Model(), ["training"] = TinyJob.Training() }.ToJsonString());
        using var dataset = TokenDataset.Open(data);
        var training = config.Training!;
        TorchSharp.torch.set_num_threads(training.Threads); // as the rank does: GEMM reductions depend on it
        var window = training.SequenceLength + 1 + config.Model!.MtpDepth;
        using var trainer = new Trainer(config.Model, training, new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation), Steps);
        return Enumerable.Range(0, Steps).Select(_ => trainer.TrainStep().Loss).ToArray();
    }
}
