using Orchestrator.Grains.Resilience;

namespace Orchestrator.Silo.Cluster;

/// <summary>The timings of the CLI's connection to a cluster (section <c>Orchestrator:Client</c>).</summary>
public sealed class ClientOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string Section = "Orchestrator:Client";

    /// <summary>
    /// Connecting: a second apart, eight attempts in all. The first gateway tried may be a silo that died a moment
    /// ago and is still listed; the next attempt takes another.
    /// </summary>
    public BackoffOptions ConnectRetry { get; set; } = new() { FirstRetry = TimeSpan.FromSeconds(1), LastRetry = TimeSpan.FromSeconds(1), MaxAttempts = 8 };

    /// <summary>
    /// Idempotent calls refused by, or lost with, a dying silo: 250 ms doubling to 2 s, nine attempts in all —
    /// past the failure detector's few seconds, after which the call reaches the grain's new activation.
    /// </summary>
    public BackoffOptions CallRetry { get; set; } = new() { FirstRetry = TimeSpan.FromMilliseconds(250), LastRetry = TimeSpan.FromSeconds(2), MaxAttempts = 9 };

    /// <summary>How long one attempt of a retried call may take before it is tried again.</summary>
    public TimeSpan CallAttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often <c>demo</c> asks the job grain for its progress.</summary>
    public TimeSpan ProgressPoll { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Refuses settings that cannot work, naming them.</summary>
    public ClientOptions Validated()
    {
        ConnectRetry.Validate($"{Section}:ConnectRetry");
        CallRetry.Validate($"{Section}:CallRetry");
        if (CallAttemptTimeout <= TimeSpan.Zero) throw new ArgumentException($"{Section}:CallAttemptTimeout must be greater than 0 (got {CallAttemptTimeout})");
        if (ProgressPoll <= TimeSpan.Zero) throw new ArgumentException($"{Section}:ProgressPoll must be greater than 0 (got {ProgressPoll})");
        return this;
    }
}
