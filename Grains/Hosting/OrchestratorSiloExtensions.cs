using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Ranks;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Orchestrator.Grains.Hosting;

/// <summary>Adds the orchestrator's grains' services to a silo: node identity, job timings, device executors, rank placement, registration and the membership watcher.</summary>
public static class OrchestratorSiloExtensions
{
    /// <summary>
    /// Wires this silo in as node <paramref name="node"/>. The caller registers the metadata store
    /// (<see cref="Storage.MetadataStoreServices.AddMetadataStore"/>),
    /// clustering, and sets <c>SiloOptions.SiloName</c> to the node name (rank placement matches it).
    /// </summary>
    public static ISiloBuilder AddOrchestratorNode(this ISiloBuilder builder, NodeOptions node)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(node);
        builder.Services.Configure<NodeOptions>(o =>
        {
            o.Name = node.Name;
            o.Devices = node.Devices;
            o.StorageRoot = node.StorageRoot;
        });
        builder.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = node.Name);
        // The default (eventually consistent) grain directory. Orleans' strongly consistent one
        // (AddDistributedGrainDirectory) was tried: after a silo death it leases directory ranges for 18 s, and
        // in the soak that held up the node-loss report to the job for two minutes. A duplicate job activation
        // is handled by the job grain itself (JobGrain.Refresh.cs).
        builder.Services.AddSingleton<DeviceExecutors>();
        builder.Services.AddSingleton<Ranks.StepReportBatcher>(); // the step reports of a silo's ranks, one call per job a window
        builder.Services.AddSingleton<Snapshots.SnapshotStores>(); // peer snapshots: the node's host memory, outside any activation
        builder.Services.AddPlacementDirector<RankPlacementStrategy, RankPlacementDirector>();
        builder.Services.AddSingleton<NodeRegistrar>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeRegistrar>());
        builder.Services.AddHostedService<MembershipWatcher>();
        builder.Services.AddOrchestratorOptions();
        return builder;
    }
}
