using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orleans.Hosting;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests.Cluster;

/// <summary>
/// A rank's report of its end is lost on the way (an incoming-call filter on the silo swallows it, as a dying
/// job silo or a duplicate job activation would): the job's watch asks the rank and ends the job anyway.
/// One real silo in this process, with the SQLite store.
/// </summary>
public sealed class LostReportTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-lostreport-").FullName;
    private int _swallowed;
    private IHost? _host;
    private SqliteMetadataStore? _store;

    public async Task InitializeAsync()
    {
        _store = await SqliteMetadataStore.OpenAsync(Path.Combine(_root, "index.db"));
        var ports = Ports.Free(2);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMetadataStore(_store);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports[0], ports[1]);
            silo.AddOrchestratorNode(new NodeOptions { Name = "n1", Devices = ["cpu:0"], StorageRoot = Path.Combine(_root, "storage") });
            silo.AddIncomingGrainCallFilter(async call =>
            {
                if (call.InterfaceMethod.Name == nameof(IJobGrain.ReportFinished) && call.TargetId.Key.ToString()!.StartsWith("lost-", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _swallowed); // every attempt (the rank retries what got no answer) is lost
                    return;
                }

                await call.Invoke();
            });
        });
        _host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _host.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(TimeSpan.FromSeconds(10));
            _host.Dispose();
        }

        if (_store is not null) await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task ARanksLostEndReport_IsFoundByTheJobsWatch_AndTheJobCompletes()
    {
        var grains = _host!.Services.GetRequiredService<IGrainFactory>();
        var job = grains.GetGrain<IJobGrain>("lost-end");
        var spec = TinyJob.Spec("lost-end", TinyJob.Data(_root), 3);
        await job.Submit(JobSpecParser.Parse(spec.ToJsonString()));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, TimeSpan.FromSeconds(90));
        output.WriteLine($"{final.Phase} {clock.Elapsed.TotalSeconds:F1} s after the submission; {_swallowed} end report(s) swallowed");

        Assert.True(_swallowed >= 1, "no end report was swallowed: the test did not test the watch");
        Assert.Equal((JobPhase.Completed, 3L), (final.Phase, final.Step));
        Assert.Equal(JobPhase.Completed, (await _store!.GetJobAsync("lost-end"))!.State);
    }
}
