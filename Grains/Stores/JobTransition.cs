namespace Orchestrator.Grains.Storage;

/// <summary>
/// A conditional move of a job from one (state, epoch) to the next: it happens only if the job is
/// still where the caller last saw it, which is what keeps two activations of one job grain (or a
/// grain and a stale node) from both winning.
/// </summary>
/// <param name="JobId">The job.</param>
/// <param name="ExpectedState">The state the caller believes the job is in.</param>
/// <param name="ExpectedEpoch">The epoch the caller believes the job is at.</param>
/// <param name="NewState">The state to move to.</param>
/// <param name="NewEpoch">The epoch to move to; never lower than <paramref name="ExpectedEpoch"/>.</param>
/// <param name="Error">The failure reason to record (null clears it).</param>
public sealed record JobTransition(
    string JobId,
    JobPhase ExpectedState,
    long ExpectedEpoch,
    JobPhase NewState,
    long NewEpoch,
    string? Error = null);
