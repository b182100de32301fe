using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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

    /// <summary>
    /// Applies <see cref="FailureDetectionOptions"/>, bound from configuration section
    /// <see cref="FailureDetectionOptions.Section"/> (its defaults where a key is absent), then changed by
    /// <paramref name="configure"/> if given. A value that cannot work stops the silo at start naming the key.
    /// </summary>
    public static ISiloBuilder UseFailureDetection(this ISiloBuilder builder, Action<FailureDetectionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var failureDetection = builder.Services.AddOptions<FailureDetectionOptions>().BindConfiguration(FailureDetectionOptions.Section);
        if (configure is not null)
        {
            failureDetection.Configure(configure);
        }

        failureDetection.Validate(Valid, FailureDetectionOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<ClusterMembershipOptions>().Configure<IOptions<FailureDetectionOptions>>((membership, bound) =>
        {
            var options = bound.Value;
            membership.ProbeTimeout = options.ProbeTimeout;
            membership.NumMissedProbesLimit = options.NumMissedProbesLimit;
            membership.NumVotesForDeathDeclaration = options.NumVotesForDeathDeclaration;
            membership.IAmAliveTablePublishTimeout = options.IAmAliveTablePublishTimeout;
            membership.TableRefreshTimeout = options.TableRefreshTimeout;
            membership.DeathVoteExpirationTimeout = options.DeathVoteExpirationTimeout;
        });
        return builder;
    }

    // Validate throws naming the key; the options pipeline only needs to hear that it passed.
    private static bool Valid(FailureDetectionOptions options)
    {
        options.Validate();
        return true;
    }
}
