using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Telemetry;
using Orleans.Hosting;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>
/// One real silo in this process (localhost clustering, the SQLite index) with a node of one CPU slot and six simulated
/// ones, and a <see cref="MeterListener"/> on <c>orchestrator.alerts</c>; shared by the alert tests.
/// </summary>
public sealed class AlertSilo : IAsyncLifetime
{
    private IHost? _host;
    private readonly MeterListener _listener = new();

    /// <summary>Folder of the index, the data and the checkpoint storage.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("orchestrator-alerts-").FullName;

    /// <summary>The silo's grain factory.</summary>
    public IGrainFactory Grains => _host!.Services.GetRequiredService<IGrainFactory>();

    /// <summary>The silo's index.</summary>
    public SqliteMetadataStore Store { get; private set; } = null!;

    /// <summary>The tiny dataset real jobs train on.</summary>
    public string Data { get; private set; } = string.Empty;

    /// <summary>Every <c>orchestrator.alerts</c> measurement seen: (job, kind, value).</summary>
    public ConcurrentQueue<(string Job, string Kind, long Value)> Counted { get; } = new();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrchestratorTelemetry.Name && instrument.Name == AlertMetrics.Name) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? job = null, kind = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "job") job = tag.Value as string;
                if (tag.Key == "kind") kind = tag.Value as string;
            }

            Counted.Enqueue((job ?? "", kind ?? "", value));
        });
        _listener.Start();
        Data = TinyJob.Data(Root);
        Store = await SqliteMetadataStore.OpenAsync(Path.Combine(Root, "index.db"));
        var ports = Ports.Free(2);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Orchestrator:Jobs:ReplanPeriod"] = "00:00:00.25";
        builder.Services.AddMetadataStore(Store);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports[0], ports[1]);
            silo.AddOrchestratorNode(new NodeOptions
            {
                Name = "n1", Devices = ["cpu:0", "cpu:1", "sim:0", "sim:1", "sim:2", "sim:3", "sim:4", "sim:5"], StorageRoot = Path.Combine(Root, "storage"),
            });
        });
        _host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _host.StartAsync(timeout.Token);
        await _host.Services.GetRequiredService<NodeRegistrar>().Registered.WaitAsync(timeout.Token);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        _listener.Dispose();
        if (_host is not null)
        {
            await _host.StopAsync(TimeSpan.FromSeconds(10));
            _host.Dispose();
        }

        await Store.DisposeAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                await Task.Delay(250); // a rank's last background shard write may still be landing
            }
        }
    }
}
