using Microsoft.Extensions.DependencyInjection;

namespace Orchestrator.Grains.Storage;

/// <summary>Registers an open metadata store as the store interfaces that grains, the dashboard and the CLI ask for.</summary>
public static class MetadataStoreServices
{
    /// <summary>
    /// Registers <paramref name="store"/> as <see cref="IJobStore"/>, <see cref="IMetricStore"/>,
    /// <see cref="INodeStore"/>, <see cref="ICheckpointIndex"/> and <see cref="IDataSetStore"/>: one object, so one connection
    /// source and one migrated schema behind all five.
    /// </summary>
    /// <remarks>
    /// Registered as instances, so the container never disposes the store: whoever opened it does, after
    /// the host has stopped (a grain deactivating during shutdown may still write).
    /// </remarks>
    public static IServiceCollection AddMetadataStore(this IServiceCollection services, SqlMetadataStore store)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(store);
        services.AddSingleton<IJobStore>(store);
        services.AddSingleton<IMetricStore>(store);
        services.AddSingleton<INodeStore>(store);
        services.AddSingleton<ICheckpointIndex>(store);
        services.AddSingleton<IDataSetStore>(store);
        return services;
    }
}
