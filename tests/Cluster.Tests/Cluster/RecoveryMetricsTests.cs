using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;
using Orchestrator.Silo.Tests.Telemetry;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// A recovery, seen through the metrics: three silo processes (sim:2 each, <c>--metrics-port</c>) joined through
/// PostgreSQL run a simulated job of four ranks; a process holding ranks (not the job grain's) is killed by pid; once
/// the job has recovered and completed, the surviving silos' <c>/metrics</c> count the recovery, its time and the
/// steps it replayed, as the job's events record them.
/// </summary>
public sealed class RecoveryMetricsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Steps = 60;
    private readonly PostgresServer _postgres = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-recovery-metrics-").FullName;

    public Task InitializeAsync() => _postgres.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task AJobRecoveringFromAKilledProcess_IsCountedTimedAndItsReplayedStepsCounted_OnTheSurvivingSilos()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var connectionString = await _postgres.DatabaseForAsync(GetType());
        var clusterId = "recmet-" + Guid.NewGuid().ToString("N")[..8];
        var storage = Path.Combine(_root, "storage");
        var processes = new List<SiloProcess>();
        var metricsPorts = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var node in new[] { "n1", "n2", "n3" })
            {
                var (silo, gateway, metrics) = (Ports.FreeRun(1), Ports.FreeRun(1), Ports.FreeRun(1));
                metricsPorts[node] = metrics;
                processes.Add(await SiloProcess.StartAsync(connectionString, clusterId, node, "sim:2", silo, gateway, storage, timeout.Token,
                    ["--metrics-port", metrics.ToString(CultureInfo.InvariantCulture)]));
            }

            await using var connection = await ClusterConnection.OpenAsync(connectionString, clusterId, timeout.Token);
            await using var store = await PostgresMetadataStore.OpenAsync(connectionString, cancellationToken: timeout.Token);
            var cluster = connection.Client.GetGrain<IClusterGrain>(IClusterGrain.Key);
            for (var i = 0; i < 100 && (await cluster.GetNodes()).Count(n => n.Alive) < 3; i++) await Task.Delay(200, timeout.Token);

            var job = connection.Client.GetGrain<IJobGrain>("sim");
            var status = await job.Submit(Spec("sim"));
            await OneNodeCluster.WaitForAsync(job, s => s.Step >= 12 || s.IsFinal, TimeSpan.FromSeconds(60));
            for (var i = 0; i < 100 && !(await store.ListJobEventsAsync("sim")).Any(e => e.Kind == "checkpoint-committed"); i++) await Task.Delay(100, timeout.Token);

            // The job grain's silo is the one whose metrics carry the job's steps; kill a process with ranks but not it.
            var host = await HostOfJobAsync("sim", metricsPorts);
            var victim = status.Plan!.Ranks.Select(r => r.Node).Distinct().First(n => n != host);
            var before = await job.GetStatus();
            Assert.False(before.IsFinal, $"the job ended (step {before.Step}) before the kill: the test has no recovery to measure");
            processes.Single(p => p.Node == victim).Kill();
            output.WriteLine($"job grain on {host}; killed {victim}");
            var done = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(150));
            Assert.True(done.Phase == JobPhase.Completed, $"{done.Phase}: {done.Error}");

            var events = await store.ListJobEventsAsync("sim");
            var recovering = events.Where(e => e.Kind == "recovering").ToList();
            var recovered = events.Where(e => e.Kind == "recovered").ToList();
            Assert.NotEmpty(recovered);
            // Each recovered event ends the recovery begun by the last recovering event before it (a start that fails
            // while recovering moves to Recovering again: two recovering events, one recovered).
            var pairs = recovered.Select(to => (From: events.TakeWhile(e => e != to).Last(e => e.Kind == "recovering"), To: to)).ToList();
            var replayed = pairs.Sum(p => (long)JsonNode.Parse(p.From.DetailJson!)!["step"]! - (long)JsonNode.Parse(p.To.DetailJson!)!["from_step"]!);
            var longest = pairs.Sum(p => (p.To.At - p.From.At).TotalSeconds);

            // Summed over the surviving silos: while the killed silo's death spreads, Orleans' directory may activate the
            // job grain a second time elsewhere (DESIGN: "The store is the truth"), and that activation records what it does.
            var samples = new List<PrometheusSample>();
            foreach (var node in metricsPorts.Keys.Where(n => n != victim)) samples.AddRange(await ScrapeAsync(metricsPorts[node]));
            double Sum(string name) => samples.Where(s => s.Name == name && s.Label("job") == "sim").Sum(s => s.Value);
            foreach (var e in events.Where(e => e.Kind is "recovering" or "recovered")) output.WriteLine($"{e.At:HH:mm:ss.fff} {e.Kind} {e.DetailJson}");
            output.WriteLine($"metrics: recoveries {Sum("orchestrator_recoveries_total")}, durations {Sum("orchestrator_recovery_duration_seconds_count")} " +
                $"summing {Sum("orchestrator_recovery_duration_seconds_sum"):F3} s (events: {longest:F3} s), steps lost {Sum("orchestrator_recovery_steps_lost_total")} (events: {replayed})");
            Assert.Equal(recovering.Count, Sum("orchestrator_recoveries_total"));
            Assert.Equal(recovered.Count, Sum("orchestrator_recovery_duration_seconds_count"));
            Assert.InRange(Sum("orchestrator_recovery_duration_seconds_sum"), 0.01, longest + 1);
            Assert.Equal(replayed, Sum("orchestrator_recovery_steps_lost_total"));
            Assert.True(replayed > 0, $"the kill at step >= 12 replayed {replayed} steps from the last checkpoint");
            // Rank 0's reports, per epoch: the last epoch trained from its resume point to the end; the first at least
            // to the checkpoint the job resumed from (simulated ranks do not step in lockstep: the job's last step,
            // which the replayed count starts from, may be another rank's).
            double Epoch(long epoch) => samples.Where(s => s.Name == "orchestrator_steps_total" && s.Label("job") == "sim" && s.Label("epoch") == $"{epoch}").Sum(s => s.Value);
            var resumedFrom = (long)JsonNode.Parse(recovered[^1].DetailJson!)!["from_step"]!;
            Assert.Equal(Steps - resumedFrom, Epoch(done.Epoch));
            Assert.InRange(Epoch(1), (long)JsonNode.Parse(recovered[0].DetailJson!)!["from_step"]!, Steps);
            Assert.Contains(samples, s => s.Name == "orchestrator_recoveries_total" && s.Label("epoch") == $"{done.Epoch}");
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

    private static JobSpec Spec(string id)
    {
        var spec = TinyJob.Spec(id, "/unused", Steps);
        spec["parallel"] = new JsonObject { ["ep"] = 2, ["dp"] = 2 };
        spec["checkpoint"] = new JsonObject { ["every"] = 5, ["keep"] = 2 };
        spec["simulation"] = new JsonObject { ["step_ms"] = 250, ["shard_kb"] = 8, ["skew"] = 1.0 }; // 15 s: the kill at step 12 lands well before the end
        return JobSpecParser.Parse(spec.ToJsonString());
    }

    private static async Task<string> HostOfJobAsync(string job, IReadOnlyDictionary<string, int> metricsPorts)
    {
        foreach (var (node, port) in metricsPorts)
            if ((await ScrapeAsync(port)).Any(s => s.Name == "orchestrator_steps_total" && s.Label("job") == job)) return node;
        throw new InvalidOperationException($"no silo's metrics carry job {job}");
    }

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        return PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")));
    }
}
