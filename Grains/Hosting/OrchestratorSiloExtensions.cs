using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Ranks;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Orchestrator.Grains.Hosting;

/// <summary>Adds the orchestrator's grains' services to a silo: node identity, device executors, rank placement, registration and the membership watcher.</summary>
public static class OrchestratorSiloExtensions
{
    /// <summary>
    /// Wires this silo in as node <paramref name="node"/>. The caller registers an <c>IMetadataStore</c>,
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
        // The strongly consistent in-cluster grain directory: at most one activation of a grain, also while a
        // silo's death is spreading through the cluster. The default directory allows a short-lived duplicate
        // then, and a duplicate job grain that never hears its ranks would show a finished job as running.
        // Orleans marks it experimental (ORLEANSEXP003) though it has shipped since 9.0; the cluster tests kill
        // silos under it.
#pragma warning disable ORLEANSEXP003
        builder.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        builder.Services.AddSingleton<DeviceExecutors>();
        builder.Services.AddPlacementDirector<RankPlacementStrategy, RankPlacementDirector>();
        builder.Services.AddSingleton<NodeRegistrar>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeRegistrar>());
        builder.Services.AddHostedService<MembershipWatcher>();
        return builder;
    }
}
