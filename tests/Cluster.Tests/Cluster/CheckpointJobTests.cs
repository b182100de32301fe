using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// Checkpoints of an expert-parallel job over two real silo processes on a real PostgreSQL: committed
/// through the coordinator, kept by the policy, restored into a new job that continues bit for bit,
/// a corrupt shard passed over, and a database restart mid-run that loses nothing.
/// </summary>
public sealed class CheckpointJobTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Ep = 2;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-ckpt-").FullName;
    private readonly List<SiloProcess> _silos = [];
    private ClusterConnection? _connection;
    private PostgresMetadataStore? _store;
    private string _data = string.Empty;
    private string _connectionString = string.Empty;
    private string _clusterId = string.Empty;

    private string Storage => Path.Combine(_root, "storage");

    private IClusterClient Client => _connection!.Client;

    private PostgresMetadataStore Store => _store!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await _postgres.InitializeAsync();
        var connectionString = _connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = _clusterId = "ck-" + Guid.NewGuid().ToString("N")[..8];
        _data = TinyJob.Data(_root);
        var ports = Ports.Free(4);
        _silos.AddRange(await Task.WhenAll(
            SiloProcess.StartAsync(connectionString, clusterId, "n1", "cpu:1", ports[0], ports[1], Storage, timeout.Token),
            SiloProcess.StartAsync(connectionString, clusterId, "n2", "cpu:1", ports[2], ports[3], Storage, timeout.Token)));
        _connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
        _store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        foreach (var silo in _silos) silo.Dispose();
        if (_store is not null) await _store.DisposeAsync();
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task CheckpointedJob_CommitsAndKeepsByPolicy_RestoresBitIdentically_AndPassesOverACorruptShard()
    {
        await RunAsync(Spec("orig", steps: 8));
        var committed = await Store.ListCheckpointsAsync("orig");

        // every 2, keep the newest 2 and every 4th: 2 expired, 4 kept for good, 6 and 8 the newest.
        Assert.Equal([4L, 6, 8], committed.Select(c => c.Step));
        Assert.All(committed, c => Assert.Equal(Ep, c.Shards.Count));
        Assert.All(committed.SelectMany(c => c.Shards), s => Assert.Null(ShardFile.Problem(Storage, s)));
        var onDisk = Directory.EnumerateFiles(Path.Combine(Storage, "orig"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Storage, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
        Assert.Equal(committed.SelectMany(c => c.Shards).Select(s => s.Path).Order(StringComparer.Ordinal), onDisk);
        var events = await Store.ListJobEventsAsync("orig");
        Assert.Equal(4, events.Count(e => e.Kind == CheckpointEvents.Committed));
        Assert.Contains(events, e => e.Kind == CheckpointEvents.Expired && e.DetailJson!.Contains("[2]", StringComparison.Ordinal));

        // the CLI lists them from the index and verifies their files.
        var listed = await Cli.RunAsync("checkpoints", "orig", "--postgres", _connectionString, "--json", "--verify", "--storage", Storage);
        Assert.True(listed.ExitCode == 0, listed.Error);
        var rows = JsonNode.Parse(listed.Output)!.AsArray();
        Assert.Equal([4L, 6, 8], rows.Select(r => r!["step"]!.GetValue<long>()));
        Assert.All(rows, r => Assert.Equal("verified", r!["hashes"]!.GetValue<string>()));

        // restore (through the CLI): a new job from step 4 continues exactly as the original went on.
        var missing = await Cli.RunAsync("restore", "orig", "--step", "5", "--postgres", _connectionString, "--cluster-id", _clusterId);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("committed: 4, 6, 8", missing.Error, StringComparison.Ordinal);
        var restoring = await Cli.RunAsync("restore", "orig", "--step", "4", "--id", "restored", "--postgres", _connectionString, "--cluster-id", _clusterId);
        Assert.True(restoring.ExitCode == 0, restoring.Error);
        Assert.Contains("restored", restoring.Output, StringComparison.Ordinal);
        await WaitAsync("restored");
        Assert.Contains("\"resume_from\":{\"job\":\"orig\",\"step\":4}", (await Store.GetJobAsync("restored"))!.SpecJson, StringComparison.Ordinal);
        var original = await LossesAsync("orig");
        var restored = await LossesAsync("restored");
        Assert.Equal([5L, 6, 7, 8], restored.Keys.Order());
        foreach (var (step, loss) in restored)
            Assert.Equal(BitConverter.DoubleToInt64Bits(original[step]), BitConverter.DoubleToInt64Bits(loss));
        output.WriteLine($"restored losses: {string.Join(", ", restored.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value:R}"))}");

        // a flipped byte in the newest checkpoint: the resume point is the one before, and the job's events say so.
        var victim = committed[^1].Shards[1];
        var path = ShardPaths.Absolute(Storage, victim.Path);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^100] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes);
        var resume = await Client.GetGrain<ICheckpointCoordinatorGrain>("orig").GetResumePoint();
        Assert.Equal(6, resume!.Step);
        var corrupt = Assert.Single(await Store.ListJobEventsAsync("orig"), e => e.Kind == CheckpointEvents.Corrupt);
        Assert.Contains("\"step\":8", corrupt.DetailJson!, StringComparison.Ordinal);
        Assert.Contains("step 6", corrupt.DetailJson!, StringComparison.Ordinal);
        Assert.Contains(victim.Path, corrupt.DetailJson!, StringComparison.Ordinal);
        var verified = await Cli.RunAsync("checkpoints", "orig", "--postgres", _connectionString, "--verify", "--storage", Storage);
        Assert.Equal(2, verified.ExitCode);
        Assert.Contains("CORRUPT", verified.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostgresRestartMidRun_TrainingGoesOn_AndThePendingCommitsAreRetried()
    {
        var spec = Spec("pgdown", steps: 40);
        spec["checkpoint"] = new JsonObject { ["every"] = 4, ["keep"] = 20 };
        var job = Client.GetGrain<IJobGrain>("pgdown");
        await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
        await OneNodeCluster.WaitForAsync(job, s => s.Step >= 6 || s.IsFinal, TimeSpan.FromSeconds(120));

        await _postgres.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await _postgres.StartAsync();
        // This test's own pooled connections died with the server: open the store afresh.
        await _store!.DisposeAsync();
        _store = await PostgresMetadataStore.OpenAsync(_connectionString);

        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(240));
        Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
        Assert.True(await Client.GetGrain<ICheckpointCoordinatorGrain>("pgdown").Drain(TimeSpan.FromSeconds(60)));
        var committed = await Store.ListCheckpointsAsync("pgdown");
        Assert.Equal(Enumerable.Range(1, 10).Select(i => 4L * i), committed.Select(c => c.Step));
        Assert.All(committed.SelectMany(c => c.Shards), s => Assert.Null(ShardFile.Problem(Storage, s)));
        var losses = await LossesAsync("pgdown");
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), losses.Keys.Order()); // the reports were retried too
        var attempts = (await Store.ListJobEventsAsync("pgdown")).Where(e => e.Kind == CheckpointEvents.Committed)
            .Select(e => JsonNode.Parse(e.DetailJson!)!["attempts"]!.GetValue<int>()).ToList();
        output.WriteLine($"commit attempts per checkpoint: {string.Join(", ", attempts)}");
        Assert.Contains(attempts, a => a > 1);
    }

    private JsonObject Spec(string id, long steps)
    {
        var spec = TinyJob.Spec(id, _data, steps);
        spec["training"]!["micro_batch_size"] = 1;
        spec["parallel"] = new JsonObject { ["ep"] = Ep, ["dp"] = 1 };
        spec["checkpoint"] = new JsonObject { ["every"] = 2, ["keep"] = 2, ["keep_every"] = 4 };
        return spec;
    }

    private async Task RunAsync(JsonObject spec)
    {
        var id = spec["id"]!.GetValue<string>();
        await Client.GetGrain<IJobGrain>(id).Submit(JobSpecParser.Parse(spec.ToJsonString()));
        await WaitAsync(id);
    }

    private async Task WaitAsync(string id)
    {
        var final = await OneNodeCluster.WaitForAsync(Client.GetGrain<IJobGrain>(id), s => s.IsFinal, TimeSpan.FromSeconds(240));
        Assert.True(final.Phase == JobPhase.Completed, $"{id}: {final.Phase}: {final.Error}");
        Assert.True(await Client.GetGrain<ICheckpointCoordinatorGrain>(id).Drain(TimeSpan.FromSeconds(60)), $"{id}: commits still pending");
    }

    private async Task<Dictionary<long, double>> LossesAsync(string id) =>
        (await Store.QueryMetricsAsync(id, new MetricQuery("loss"))).ToDictionary(m => m.Step, m => m.Value);
}
