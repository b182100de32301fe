namespace Orchestrator.Grains;

/// <summary>A rank's report that its shard of a checkpoint is written, fsynced, renamed and hashed.</summary>
/// <param name="Step">The checkpoint's step.</param>
/// <param name="Shard">The file.</param>
/// <param name="StateJson">The trainer's scalar state at that step (the same on every rank).</param>
/// <param name="WriteSeconds">From the snapshot to the rename.</param>
[GenerateSerializer, Immutable]
public sealed record PreparedShard(
    [property: Id(0)] long Step,
    [property: Id(1)] CheckpointShard Shard,
    [property: Id(2)] string StateJson,
    [property: Id(3)] double WriteSeconds);
