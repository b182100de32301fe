using Orchestrator.Grains.Resilience;

namespace Orchestrator.Grains.Hosting;

/// <summary>How a silo's membership watcher retries telling the cluster grain of a dead silo (section <c>Orchestrator:Membership</c>).</summary>
public sealed class MembershipWatcherOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string Section = "Orchestrator:Membership";

    /// <summary>
    /// Retries of the node-down report: every second, five attempts in all (the cluster grain may have lived on
    /// the silo that died, and the next call reactivates it; every silo reports, so one giving up loses nothing).
    /// </summary>
    public BackoffOptions NodeDownRetry { get; set; } = new() { FirstRetry = TimeSpan.FromSeconds(1), LastRetry = TimeSpan.FromSeconds(1), MaxAttempts = 5 };
}
