namespace Orchestrator.Grains;

/// <summary>
/// A checkpoint as the index records it: which step of which job, written in which epoch, and its
/// shards. Only a committed manifest makes its shards exist.
/// </summary>
/// <param name="JobId">The job that wrote it.</param>
/// <param name="Step">Optimizer steps completed when it was taken; a resume continues with this step.</param>
/// <param name="Epoch">The job epoch whose ranks wrote it.</param>
/// <param name="CommittedAt">When the commit transaction ran (the time of the prepare when not yet committed).</param>
/// <param name="Bytes">Total bytes of its shards.</param>
/// <param name="DurationSeconds">From the snapshot to the last shard prepared (the slowest rank's write).</param>
/// <param name="StateJson">The trainer's scalar state (step, optimizer updates, tokens seen, data position, seed, config) as JSON.</param>
/// <param name="Shards">One per rank, ordered by rank.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointManifest(
    [property: Id(0)] string JobId,
    [property: Id(1)] long Step,
    [property: Id(2)] long Epoch,
    [property: Id(3)] DateTimeOffset CommittedAt,
    [property: Id(4)] long Bytes,
    [property: Id(5)] double DurationSeconds,
    [property: Id(6)] string StateJson,
    [property: Id(7)] IReadOnlyList<CheckpointShard> Shards)
{
    /// <summary>The kind of the job that wrote it, as the spec names it (<c>pretrain</c>, <c>sft</c>, …).</summary>
    [Id(8)]
    public string Kind { get; init; } = "pretrain";

    /// <summary>The checkpoint the writing job started from (an sft job's parent, or its <c>resume_from</c>); null from the seed.</summary>
    [Id(9)]
    public CheckpointSource? Parent { get; init; }
}
