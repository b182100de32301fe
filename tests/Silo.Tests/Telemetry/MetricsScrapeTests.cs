using Orchestrator.Grains.Storage;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>
/// A real silo (the <c>orchestrator demo</c> process, <c>--metrics-port</c>) runs a four-step job; its <c>/metrics</c>
/// endpoint is scraped over HTTP, parsed, and checked against what the job stored in its index.
/// </summary>
public sealed class MetricsScrapeTests : IDisposable
{
    private const int Steps = 4;
    private readonly string _dir = Directory.CreateTempSubdirectory("orchestrator-metrics-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Demo_WithAMetricsPort_ServesTheJobsStepsLossThroughputMaxVioAndExpertLoads_AsItsIndexHasThem()
    {
        var exposition = await ScrapeDemoAsync("--steps", $"{Steps}");

        var samples = PrometheusText.Parse(exposition);
        await using var store = await SqliteMetadataStore.OpenAsync(Path.Combine(_dir, "index.db"));
        var job = Assert.Single(await store.ListJobsAsync()).Id;
        var stored = await store.QueryMetricsAsync(job, MetricQuery.All);
        double Stored(string name) => stored.Single(m => m.Name == name && m.Step == Steps).Value;
        PrometheusSample[] Of(string name) => samples.Where(s => s.Name == name && s.Label("job") == job).ToArray();
        double One(string name) => Assert.Single(Of(name)).Value;

        Assert.Equal(Steps, One("orchestrator_steps_total"));
        Assert.Equal(Steps, One("orchestrator_step_duration_seconds_count"));
        Assert.Equal(Steps, Of("orchestrator_step_duration_seconds_bucket").Single(s => s.Label("le") == "+Inf").Value);
        Assert.Equal(stored.Where(m => m.Name == "step_ms").Sum(m => m.Value) / 1000, One("orchestrator_step_duration_seconds_sum"), 9);
        Assert.Equal("1", Assert.Single(Of("orchestrator_step_loss")).Label("epoch"));
        Assert.Equal(Stored("loss"), One("orchestrator_step_loss"), 12);
        Assert.Equal(Stored("tokens_per_s"), One("orchestrator_step_throughput_per_second"), 9); // one rank: the job's is the rank's
        Assert.Equal(Stored("max_vio"), One("orchestrator_expert_max_violation"), 12);
        Assert.Equal(Stored("lr"), One("orchestrator_step_learning_rate"), 15);
        Assert.Equal(Steps * 128 * 8, One("orchestrator_tokens_total"), 6); // tiny.json: seq_len 128 × micro-batch 8
        Assert.True(double.IsFinite(One("orchestrator_step_loss")) && One("orchestrator_step_loss") > 0);

        // Expert load: one series per (layer, expert) of the last step, each the stored load; biases' norms per layer.
        var loads = (await store.QueryExpertLoadsAsync(job, Steps, Steps)).OrderBy(l => l.Layer).ToList();
        Assert.NotEmpty(loads);
        var series = Of("orchestrator_expert_load");
        Assert.Equal(loads.Sum(l => l.Loads.Count), series.Length);
        foreach (var layer in loads)
            for (var expert = 0; expert < layer.Loads.Count; expert++)
                Assert.Equal(layer.Loads[expert], series.Single(s => s.Label("layer") == $"{layer.Layer}" && s.Label("expert") == $"{expert}").Value);
        foreach (var layer in loads)
            Assert.Equal(Math.Sqrt(layer.Biases.Sum(b => b * b)), Of("orchestrator_expert_bias_norm").Single(s => s.Label("layer") == $"{layer.Layer}").Value, 12);

        // The demo checkpoints its last step: one stall, one shard written, one commit.
        Assert.Equal(1, One("orchestrator_checkpoint_stall_seconds_count"));
        Assert.Equal(1, One("orchestrator_checkpoint_commits_total"));
        var checkpoint = Assert.Single(await store.ListCheckpointsAsync(job));
        Assert.Equal(checkpoint.Bytes, One("orchestrator_checkpoint_write_bytes_total"));

        // Orleans' own meter (grain call latency) and the runtime's are exported too.
        Assert.Contains(samples, s => s.Name == "orleans_app_requests_latency_milliseconds_count" && s.Value > 0);
        Assert.All(ExportedMetrics.OtherSeries, name => Assert.Contains(samples, s => s.Name == name));
        Assert.Contains(samples, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));

        // The names the deploy files are checked against are the exporter's: every instrument this run records is
        // exposed under the series names ExportedMetrics translates it to (recoveries, collectives and alerts did not happen).
        var names = samples.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var instrument in ExportedMetrics.All.Where(e => !e.Name.StartsWith("orchestrator.recover", StringComparison.Ordinal)
                                                               && !e.Name.StartsWith("orchestrator.collective", StringComparison.Ordinal)
                                                               && e.Name != "orchestrator.alerts"))
            Assert.All(instrument.Series, name => Assert.True(names.Contains(name), $"{instrument.Name} ({instrument.Kind}) is not exposed as {name}"));
    }

    [Fact]
    public async Task Demo_WithTwoExpertParallelRanks_ServesTheBytesAndTimesOfTheirCollectives_OverGrainCalls()
    {
        var samples = PrometheusText.Parse(await ScrapeDemoAsync("--steps", "2", "--devices", "cpu:2", "--ep", "2"));

        foreach (var collective in new[] { "all_to_all", "all_reduce", "all_gather" })
        {
            var bytes = samples.Single(s => s.Name == "orchestrator_collective_bytes_total" && s.Label("collective") == collective);
            var count = samples.Single(s => s.Name == "orchestrator_collective_duration_seconds_count" && s.Label("collective") == collective);
            Assert.Equal("grains", bytes.Label("transport"));
            Assert.StartsWith("demo-", bytes.Label("job"), StringComparison.Ordinal);
            Assert.True(bytes.Value > 0 && count.Value > 0, $"{collective}: {bytes.Value} bytes in {count.Value} calls");
        }
        // Two ranks, two steps: the job's step count is rank 0's, not one per rank.
        Assert.Equal(2, samples.Single(s => s.Name == "orchestrator_steps_total").Value);
    }

    /// <summary>Runs the demo with <c>--metrics-port --stay</c> and <paramref name="args"/>, scrapes its <c>/metrics</c> once the job ended, then stops it.</summary>
    private async Task<string> ScrapeDemoAsync(params string[] args)
    {
        var port = DemoProcess.FreePort();
        using var demo = await DemoProcess.StartAsync("The metrics stay at", TimeSpan.FromMinutes(4),
            ["demo", .. args, "--seconds", "180", "--no-dashboard", "--metrics-port", $"{port}", "--stay", "--work-dir", _dir]);
        Assert.Contains($"Metrics: http://127.0.0.1:{port}/metrics", demo.Output, StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}\n{demo.Output}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }
}
