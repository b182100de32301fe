using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>
/// The frame of a kill-by-pid test: real silo processes <c>n1</c>, <c>n2</c>, … of one fresh cluster on a test's
/// PostgreSQL database, sharing one storage folder, with a client connection and the metadata store opened on them.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private ProcessCluster(SiloProcess[] silos, ClusterConnection connection, PostgresMetadataStore store, string storage)
    {
        Silos = silos;
        Connection = connection;
        Store = store;
        Storage = storage;
    }

    /// <summary>The silo processes, in node order.</summary>
    public IReadOnlyList<SiloProcess> Silos { get; }

    /// <summary>The client connection to the cluster.</summary>
    public ClusterConnection Connection { get; }

    /// <summary>The job index the silos write.</summary>
    public PostgresMetadataStore Store { get; }

    /// <summary>The storage folder every silo writes its checkpoint shards under.</summary>
    public string Storage { get; }

    /// <summary>Starts one silo per entry of <paramref name="devices"/> (node <c>n1</c> gets the first) and connects.</summary>
    public static async Task<ProcessCluster> StartAsync(
        string postgres, string clusterPrefix, IReadOnlyList<string> devices, string storage, CancellationToken cancellationToken)
    {
        var clusterId = clusterPrefix + "-" + Guid.NewGuid().ToString("N")[..8];
        var ports = Ports.Free(2 * devices.Count);
        var starts = devices.Select((device, i) =>
            SiloProcess.StartAsync(postgres, clusterId, $"n{i + 1}", device, ports[2 * i], ports[2 * i + 1], storage, cancellationToken)).ToArray();
        try
        {
            var silos = await Task.WhenAll(starts);
            var connection = await ClusterConnection.OpenAsync(postgres, clusterId, cancellationToken);
            var store = await PostgresMetadataStore.OpenAsync(postgres, cancellationToken: cancellationToken);
            return new ProcessCluster(silos, connection, store, storage);
        }
        catch
        {
            foreach (var start in starts.Where(s => s.IsCompletedSuccessfully)) start.Result.Dispose();
            throw;
        }
    }

    /// <summary>The silo serving <paramref name="node"/>.</summary>
    public SiloProcess Silo(string node) => Silos.Single(s => s.Node == node);

    /// <summary>The job grain of <paramref name="id"/>.</summary>
    public IJobGrain Job(string id) => Connection.Client.GetGrain<IJobGrain>(id);

    /// <summary>Runs a job to its end and waits until its checkpoints are committed (a parent for the job under test).</summary>
    public async Task<JobStatus> RunToCompletionAsync(JobSpec spec, TimeSpan patience)
    {
        var job = Job(spec.Id);
        await job.Submit(spec);
        var final = await OneNodeCluster.WaitForAsync(job, s => s.IsFinal, patience);
        if (final.Phase != JobPhase.Completed) throw new InvalidOperationException($"job '{spec.Id}' ended {final.Phase}: {final.Error}");
        if (!await Connection.Client.GetGrain<ICheckpointCoordinatorGrain>(spec.Id).Drain(patience))
        {
            throw new TimeoutException($"job '{spec.Id}': its checkpoints were not committed within {patience}");
        }

        return final;
    }

    /// <summary>Waits until the job has recorded a committed checkpoint (false when <paramref name="patience"/> ran out).</summary>
    public async Task<bool> WaitForCommittedCheckpointAsync(string job, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < deadline)
        {
            if ((await Store.ListJobEventsAsync(job)).Any(e => e.Kind == "checkpoint-committed")) return true;
            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>Writes every silo's log tail (for a failing test).</summary>
    public void WriteTails(Action<string> output) => SiloProcess.WriteTails(output, Silos);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Store.DisposeAsync();
        foreach (var silo in Silos) silo.Dispose();
    }
}
