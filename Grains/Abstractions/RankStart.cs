namespace Orchestrator.Grains;

/// <summary>What a rank needs to start: the job, its place in the plan, and where checkpoints go.</summary>
/// <param name="Spec">The job spec.</param>
/// <param name="Assignment">This rank's slot in the plan.</param>
/// <param name="Layout">The whole layout (EP × DP) the rank is part of.</param>
/// <param name="Peers">Every rank of the plan, ordered by rank (where to send collective messages).</param>
/// <param name="Resume">The committed checkpoint to load before the first step; null starts from the seed.</param>
[GenerateSerializer, Immutable]
public sealed record RankStart(
    [property: Id(0)] JobSpec Spec,
    [property: Id(1)] RankAssignment Assignment,
    [property: Id(2)] ParallelSpec Layout,
    [property: Id(3)] IReadOnlyList<RankAssignment> Peers,
    [property: Id(4)] CheckpointManifest? Resume = null)
{
    /// <summary>The W3C <c>traceparent</c> of the job's trace (its submit span), so the ranks' spans join it; null when untraced.</summary>
    [Id(5)]
    public string? TraceParent { get; init; }

    /// <summary>The in-memory snapshot to load instead of <c>Resume</c>, from its holders; null loads <c>Resume</c> (or the seed).</summary>
    [Id(6)]
    public MemoryResumePoint? MemoryResume { get; init; }
}
