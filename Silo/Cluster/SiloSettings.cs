namespace Orchestrator.Silo.Cluster;

/// <summary>
/// A silo's settings: the <c>Orchestrator</c> section of appsettings.json, then environment variables
/// (<c>ORCHESTRATOR__POSTGRES</c>, <c>ORCHESTRATOR__NODE</c>, …), then the command line, each winning over the one before.
/// </summary>
public sealed class SiloSettings
{
    /// <summary>The node name (also the Orleans silo name).</summary>
    public string? Node { get; set; }

    /// <summary>Device slots: <c>cpu:N</c> (N CPU ranks) or <c>cuda:0-7</c>, <c>cuda:0,2</c>.</summary>
    public string? Devices { get; set; }

    /// <summary>Npgsql connection string of the orchestrator's database.</summary>
    public string? Postgres { get; set; }

    /// <summary>Orleans cluster id; silos and clients of one cluster share it.</summary>
    public string ClusterId { get; set; } = "orchestrator";

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Root folder of checkpoint shards, shared by the cluster's nodes.</summary>
    public string? Storage { get; set; }

    /// <summary>Address to listen on and advertise; loopback when empty.</summary>
    public string? Address { get; set; }

    /// <summary>Dashboard URL to listen on (e.g. <c>http://0.0.0.0:5080</c>); overrides <see cref="DashboardPort"/>.</summary>
    public string? DashboardUrl { get; set; }

    /// <summary>Dashboard port on 127.0.0.1; no dashboard when neither this nor <see cref="DashboardUrl"/> is set.</summary>
    public int? DashboardPort { get; set; }

    /// <summary>Port of the Prometheus scrape endpoint (<c>/metrics</c>); no endpoint when not set.</summary>
    public int? MetricsPort { get; set; }

    /// <summary>OTLP collector to push metrics to (gRPC, e.g. <c>http://collector:4317</c>); none when not set.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Hashes (<c>sha256:…</c>) of the API tokens that may use the dashboard; see <c>orchestrator dashboard-token</c>.</summary>
    public List<string> DashboardTokenHashes { get; } = [];
}
