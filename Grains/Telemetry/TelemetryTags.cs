namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// The tags of the orchestrator's instruments, and the tag sets a hot path builds once and records with many times
/// (a step report, a collective) instead of once per measurement.
/// </summary>
public static class TelemetryTags
{
    /// <summary>The job id.</summary>
    public const string Job = "job";

    /// <summary>The job's epoch (every recovery adds one).</summary>
    public const string Epoch = "epoch";

    /// <summary>A MoE layer, counted from 0 over the model's MoE layers.</summary>
    public const string Layer = "layer";

    /// <summary>A routed expert of a layer.</summary>
    public const string Expert = "expert";

    /// <summary>The collective: <c>all_to_all</c>, <c>all_gather</c> or <c>all_reduce</c>.</summary>
    public const string Collective = "collective";

    /// <summary>The data plane's transport: <c>grains</c> or <c>nccl</c>.</summary>
    public const string Transport = "transport";

    /// <summary>The tags <c>job</c> and <c>epoch</c>, as one array to record with.</summary>
    public static KeyValuePair<string, object?>[] Of(string job, long epoch) => [new(Job, job), new(Epoch, epoch)];

    /// <summary>The tag <c>job</c> alone.</summary>
    public static KeyValuePair<string, object?>[] Of(string job) => [new(Job, job)];
}
