using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Messaging;

namespace Orchestrator.Grains.Membership;

/// <summary>Wires the PostgreSQL membership table into silos and the gateway list into clients.</summary>
public static class PostgresClusteringExtensions
{
    /// <summary>Silos find each other through the <c>membership</c> table of the orchestrator's database.</summary>
    public static ISiloBuilder UsePostgresClustering(this ISiloBuilder builder, Action<PostgresClusteringOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        builder.Services.AddSingleton<IMembershipTable, PostgresMembershipTable>();
        return builder;
    }

    /// <summary>The client finds gateways through the <c>membership</c> table of the orchestrator's database.</summary>
    public static IClientBuilder UsePostgresClustering(this IClientBuilder builder, Action<PostgresClusteringOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        builder.Services.AddSingleton<IGatewayListProvider, PostgresGatewayListProvider>();
        return builder;
    }

    /// <summary>Applies <see cref="FailureDetectionOptions"/> (its defaults unless <paramref name="configure"/> changes them).</summary>
    public static ISiloBuilder UseFailureDetection(this ISiloBuilder builder, Action<FailureDetectionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var failureDetection = new FailureDetectionOptions();
        configure?.Invoke(failureDetection);
        failureDetection.Validate();
        builder.Services.Configure<ClusterMembershipOptions>(membership =>
        {
            membership.ProbeTimeout = failureDetection.ProbeTimeout;
            membership.NumMissedProbesLimit = failureDetection.NumMissedProbesLimit;
            membership.NumVotesForDeathDeclaration = failureDetection.NumVotesForDeathDeclaration;
            membership.IAmAliveTablePublishTimeout = failureDetection.IAmAliveTablePublishTimeout;
            membership.TableRefreshTimeout = failureDetection.TableRefreshTimeout;
        });
        return builder;
    }
}
