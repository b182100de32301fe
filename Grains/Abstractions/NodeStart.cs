namespace Orchestrator.Grains;

/// <summary>
/// The start of every rank of one node, sent once to the node's first rank, which starts the others on its silo:
/// starting R ranks costs one message and one copy of the plan per node, not one per rank (a start per rank carried
/// the whole plan, R × R assignments of serialisation; the scale bench found it at 2,048 ranks).
/// </summary>
/// <param name="Spec">The job spec (its layout is the ranks' layout).</param>
/// <param name="Plan">Every rank of the epoch, ordered by rank; the node's ranks are those whose node is the receiver's.</param>
/// <param name="Resume">The committed checkpoint to load before the first step; null starts from the seed.</param>
[GenerateSerializer, Immutable]
public sealed record NodeStart(
    [property: Id(0)] JobSpec Spec,
    [property: Id(1)] IReadOnlyList<RankAssignment> Plan,
    [property: Id(2)] CheckpointManifest? Resume = null)
{
    /// <summary>The W3C <c>traceparent</c> of the job's trace (its submit span), so the ranks' spans join it; null when untraced.</summary>
    [Id(3)]
    public string? TraceParent { get; init; }

    /// <summary>The in-memory snapshot to load instead of <c>Resume</c> (a recovery whose step survives in peer memory); null loads <c>Resume</c>.</summary>
    [Id(4)]
    public MemoryResumePoint? MemoryResume { get; init; }
}
