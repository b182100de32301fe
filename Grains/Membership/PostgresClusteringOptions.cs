namespace Orchestrator.Grains.Membership;

/// <summary>Where the Orleans membership table lives.</summary>
public sealed class PostgresClusteringOptions
{
    /// <summary>The Npgsql connection string of the orchestrator's database (the same one the metadata store uses).</summary>
    public string ConnectionString { get; set; } = string.Empty;
}
