using Orchestrator.Grains.Resilience;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>How the checkpoint coordinator retries a commit the index could not take (configuration section <c>Orchestrator:Checkpoints</c>).</summary>
public sealed class CheckpointCommitOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string Section = "Orchestrator:Checkpoints";

    /// <summary>
    /// Retries of a commit while the index is unreachable: 200 ms doubling to 5 s, with no time limit —
    /// a database restart must not lose a checkpoint every rank has written.
    /// </summary>
    public BackoffOptions CommitRetry { get; set; } = new() { FirstRetry = TimeSpan.FromMilliseconds(200), LastRetry = TimeSpan.FromSeconds(5) };
}
