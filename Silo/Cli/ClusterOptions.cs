using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Orchestrator.Silo.Cluster;

namespace Orchestrator.Silo.Cli;

/// <summary>Options shared by the commands that talk to a cluster, and the settings they override.</summary>
public static class ClusterOptions
{
    public static Option<string?> Postgres() => new("--postgres")
    {
        Description = "Npgsql connection string of the cluster's database (also ORCHESTRATOR__POSTGRES or appsettings.json)",
    };

    public static Option<string?> ClusterId() => new("--cluster-id")
    {
        Description = "Orleans cluster id shared by the silos and clients of one cluster (default: orchestrator)",
    };

    /// <summary>appsettings.json next to the executable, then ORCHESTRATOR__* environment variables.</summary>
    public static SiloSettings LoadSettings()
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var settings = new SiloSettings();
        configuration.GetSection("Orchestrator").Bind(settings);
        return settings;
    }

    /// <summary>The settings, with the connection options given on the command line applied.</summary>
    public static SiloSettings Resolve(ParseResult result, Option<string?> postgres, Option<string?> clusterId)
    {
        var settings = LoadSettings();
        if (result.GetValue(postgres) is { } p) settings.Postgres = p;
        if (result.GetValue(clusterId) is { } c) settings.ClusterId = c;
        return settings;
    }
}
