using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;
using Orchestrator.Grains;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Silo.Cluster;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>
/// The demo's silo (<see cref="SiloHost.ForDemo"/>: one node, one CPU slot, the SQLite index) in this process, its
/// traces exported to memory through the silo's own tracing set-up and its log events kept, for one test.
/// </summary>
public sealed class InProcessJob : IAsyncDisposable, ILogEventSink
{
    private readonly List<LogEvent> _events = [];
    private readonly ILogger? _previousLogger;
    private IHost? _host;
    private SqliteMetadataStore? _store;

    private InProcessJob()
    {
        _previousLogger = Log.Logger;
    }

    /// <summary>The node's name.</summary>
    public const string Node = "local";

    /// <summary>The work folder (data, index, checkpoints).</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("orchestrator-telemetry-").FullName;

    /// <summary>Every span the silo exported (ended), in the order they ended.</summary>
    private LockedSpans Spans { get; } = new();

    /// <summary>The grain factory of the silo.</summary>
    public IGrainFactory Grains => _host!.Services.GetRequiredService<IGrainFactory>();

    /// <summary>The log events written so far.</summary>
    public IReadOnlyList<LogEvent> Events
    {
        get
        {
            lock (_events) return [.. _events];
        }
    }

    /// <summary>Starts the silo (one CPU slot, or <paramref name="slots"/>); its logs come here (Serilog's global logger, as the executable sets it).</summary>
    public static async Task<InProcessJob> StartAsync(int slots = 1)
    {
        LibTorchRuntime.Initialize();
        var job = new InProcessJob();
        Log.Logger = new LoggerConfiguration().MinimumLevel.Debug().Enrich.FromLogContext().WriteTo.Sink(job).CreateLogger();
        job._store = await SqliteMetadataStore.OpenAsync(Path.Combine(job.Root, "index.db"));
        var node = new NodeOptions { Name = Node, Devices = [.. Enumerable.Range(0, slots).Select(i => $"cpu:{i}")], StorageRoot = Path.Combine(job.Root, "checkpoints") };
        job._host = SiloHost.ForDemo(node, job._store, FreePort(), FreePort(), traceExport: tracing => tracing.AddInMemoryExporter(job.Spans));
        await job._host.StartAsync();
        await job._host.Services.GetRequiredService<NodeRegistrar>().Registered.WaitAsync(TimeSpan.FromSeconds(60));
        return job;
    }

    /// <summary>A tiny job on the demo corpus: <paramref name="steps"/> steps, a checkpoint every <paramref name="every"/>.</summary>
    public JobSpec Spec(string id, long steps, long every)
    {
        var data = Path.Combine(Root, "data");
        if (!Directory.Exists(data))
            new TokenShardWriter(TokenizerCatalog.Create(ByteTokenizer.CatalogName)).Write(DemoCorpus.Write(Path.Combine(Root, "corpus")), data, overwrite: true);
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = id, ["config"] = "tiny", ["data"] = data, ["steps"] = steps,
            ["checkpoint"] = new System.Text.Json.Nodes.JsonObject { ["every"] = every, ["keep"] = 2 },
        };
        return JobSpecParser.Parse(json.ToJsonString(), ConfigCatalog.Resolver(null));
    }

    /// <summary>Polls the job until <paramref name="done"/> holds.</summary>
    public static async Task<JobStatus> WaitForAsync(IJobGrain job, Func<JobStatus, bool> done, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        var status = await job.GetStatus();
        while (!done(status))
        {
            if (clock.Elapsed > patience) throw new TimeoutException($"job {status.Id} still {status.Phase} at step {status.Step} after {patience} ({status.Error})");
            await Task.Delay(100);
            status = await job.GetStatus();
        }

        return status;
    }

    /// <summary>Waits until a span the silo exported satisfies <paramref name="found"/> (spans are exported as they end).</summary>
    public async Task<Activity> SpanAsync(Func<Activity, bool> found, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (SpansNow().FirstOrDefault(found) is { } span) return span;

            if (clock.Elapsed > patience) throw new TimeoutException($"no such span after {patience}; spans: {string.Join(", ", SpansNow().Select(s => s.DisplayName))}");
            await Task.Delay(100);
        }
    }

    /// <summary>The spans exported so far.</summary>
    public IReadOnlyList<Activity> SpansNow() => Spans.Snapshot();

    /// <inheritdoc />
    public void Emit(LogEvent logEvent)
    {
        lock (_events) _events.Add(logEvent);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(TimeSpan.FromSeconds(20));
            _host.Dispose();
        }

        if (_store is not null) await _store.DisposeAsync();
        Log.Logger = _previousLogger ?? Serilog.Core.Logger.None;
        Directory.Delete(Root, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The in-memory exporter's collection, read by the test while the exporter adds to it.</summary>
    private sealed class LockedSpans : ICollection<Activity>
    {
        private readonly List<Activity> _spans = [];

        public int Count => Snapshot().Count;

        public bool IsReadOnly => false;

        public IReadOnlyList<Activity> Snapshot()
        {
            lock (_spans) return [.. _spans];
        }

        public void Add(Activity item)
        {
            lock (_spans) _spans.Add(item);
        }

        public void Clear()
        {
            lock (_spans) _spans.Clear();
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().ToList().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_spans) return _spans.Remove(item);
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
