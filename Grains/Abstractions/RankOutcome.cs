namespace Orchestrator.Grains;

/// <summary>How a rank's training ended.</summary>
/// <param name="Finished">True when it reached the last step (or the time limit); false when stopped or failed.</param>
/// <param name="Error">Why it failed; null when it finished or was stopped.</param>
/// <param name="Step">The last step it completed.</param>
[GenerateSerializer, Immutable]
public sealed record RankOutcome(
    [property: Id(0)] bool Finished,
    [property: Id(1)] string? Error,
    [property: Id(2)] long Step)
{
    /// <summary>
    /// True when the failure came from the rank's surroundings (a peer or its silo vanished, a collective
    /// was aborted, a call timed out), so the job can recover by re-planning; false for failures that
    /// would repeat (bad data, a non-finite loss, a configuration the model refuses).
    /// </summary>
    [Id(3)]
    public bool Retryable { get; init; }

    /// <summary>True when the run stopped on a non-finite loss (the job then fails or rolls back, by its spec's <c>alerts.on_nan</c>).</summary>
    [Id(4)]
    public bool NonFinite { get; init; }
}
