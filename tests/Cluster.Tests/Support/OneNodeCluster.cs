using Orchestrator.Grains;
using Orleans.Runtime;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>A throwaway PostgreSQL, one real silo process (node n1, two CPU slots), a client and the store, shared by a test class.</summary>
public sealed class OneNodeCluster : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private SiloProcess? _silo;
    private ClusterConnection? _connection;
    private PostgresMetadataStore? _store;

    public string ConnectionString { get; private set; } = string.Empty;
    public string ClusterId { get; } = "ct-" + Guid.NewGuid().ToString("N")[..8];
    public string Root { get; } = Directory.CreateTempSubdirectory("orchestrator-cluster-").FullName;
    public string Data { get; private set; } = string.Empty;
    public IClusterClient Client => _connection!.Client;
    public PostgresMetadataStore Store => _store!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await _postgres.InitializeAsync();
        ConnectionString = await _postgres.DatabaseForAsync(typeof(OneNodeCluster));
        Data = TinyJob.Data(Root);
        _store = await PostgresMetadataStore.OpenAsync(ConnectionString, cancellationToken: timeout.Token);
        var ports = Ports.Free(2);
        _silo = await SiloProcess.StartAsync(ConnectionString, ClusterId, "n1", "cpu:2", ports[0], ports[1], Path.Combine(Root, "storage"), timeout.Token);
        _connection = await ClusterConnection.OpenAsync(ConnectionString, ClusterId, timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        _silo?.Dispose();
        if (_store is not null) await _store.DisposeAsync();
        await _postgres.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>
    /// Polls the job until <paramref name="done"/> holds; fails after <paramref name="patience"/>. A poll
    /// that finds the job grain on a silo that just died (no answer, or a rejection) is retried, as any
    /// client of a cluster that loses nodes must: the next call reaches its new activation.
    /// </summary>
    public static async Task<JobStatus> WaitForAsync(IJobGrain job, Func<JobStatus, bool> done, TimeSpan patience)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        JobStatus? status = null;
        while (clock.Elapsed < patience)
        {
            try
            {
                status = await job.GetStatus().WaitAsync(TimeSpan.FromSeconds(3));
                if (done(status)) return status;
            }
            catch (Exception e) when (e is TimeoutException or OrleansException)
            {
                // The silo that held the job grain is gone; ask again.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"job {status?.Id} still {status?.Phase} at step {status?.Step} after {patience} ({status?.Error})");
    }
}
