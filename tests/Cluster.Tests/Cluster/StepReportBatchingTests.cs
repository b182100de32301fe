using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Telemetry;
using Orleans.Hosting;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// The step reports' fan-in (issue 20): a silo sends the reports of its ranks other than rank 0 to the job grain in one
/// call per window, so a simulated EP 8 job on one silo costs the job grain about two calls a step, not eight; every
/// rank's report of every step still arrives once. With the window at zero each report is its own call.
/// </summary>
public sealed class StepReportBatchingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Steps = 30;
    private const int Ranks = 8;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, string Job, string Kind, long Value)> _counted = new();
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-report-batching-").FullName;

    public Task InitializeAsync()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrchestratorTelemetry.Name && instrument.Name.StartsWith("orchestrator.job.", StringComparison.Ordinal))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string job = "", kind = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "job") job = tag.Value as string ?? "";
                if (tag.Key == "kind") kind = tag.Value as string ?? "";
            }

            _counted.Enqueue((instrument.Name, job, kind, value));
        });
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _listener.Dispose();
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TheReportsOfASilosRanks_ReachTheJobInOneCallPerStep_EachReportOnce()
    {
        await RunAsync("batched", window: null);
        var single = Count("orchestrator.job.report_calls", "batched", "single");
        var batches = Count("orchestrator.job.report_calls", "batched", "batch");
        output.WriteLine($"{single} single calls, {batches} batches");
        Assert.Equal(Steps * Ranks, Count("orchestrator.job.rank_reports", "batched"));
        Assert.Equal(Steps, single); // rank 0's, each step (simulated ranks report no readiness)
        Assert.InRange(batches, Steps / 2, 2 * Steps); // the other seven ranks' 210 reports in about one call a step
    }

    [Fact]
    public async Task WithTheWindowAtZero_EachReportIsItsOwnCall()
    {
        await RunAsync("unbatched", window: "00:00:00");
        Assert.Equal(Steps * Ranks, Count("orchestrator.job.report_calls", "unbatched", "single"));
        Assert.Equal(0, Count("orchestrator.job.report_calls", "unbatched", "batch"));
        Assert.Equal(Steps * Ranks, Count("orchestrator.job.rank_reports", "unbatched"));
    }

    private long Count(string instrument, string job, string? kind = null) =>
        _counted.Where(c => c.Instrument == instrument && c.Job == job && (kind is null || c.Kind == kind)).Sum(c => c.Value);

    private async Task RunAsync(string id, string? window)
    {
        await using var store = await SqliteMetadataStore.OpenAsync(Path.Combine(_root, id + ".db"));
        var ports = Ports.Free(2);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (window is not null) builder.Configuration["Orchestrator:Ranks:ReportBatchWindow"] = window;
        builder.Services.AddMetadataStore(store);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports[0], ports[1]);
            silo.AddOrchestratorNode(new NodeOptions
            {
                Name = "n1", Devices = [.. Enumerable.Range(0, Ranks).Select(i => $"sim:{i}")], StorageRoot = Path.Combine(_root, "storage-" + id),
            });
        });
        using var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        try
        {
            await host.Services.GetRequiredService<NodeRegistrar>().Registered.WaitAsync(timeout.Token);
            var spec = TinyJob.Spec(id, "/unused", Steps);
            spec["parallel"] = new JsonObject { ["ep"] = Ranks, ["dp"] = 1 };
            spec["checkpoint"] = new JsonObject { ["every"] = 10, ["keep"] = 2 };
            spec["simulation"] = new JsonObject { ["step_ms"] = 50, ["shard_kb"] = 4, ["skew"] = 1.0 };
            var job = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(id);
            await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));
            var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(90));
            Assert.True(final.Phase == JobPhase.Completed, $"{final.Phase}: {final.Error}");
            Assert.Equal(Steps, final.Step);
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(10));
        }
    }
}
