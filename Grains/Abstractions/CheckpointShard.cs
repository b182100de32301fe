namespace Orchestrator.Grains;

/// <summary>One rank's file of a checkpoint, as written and hashed.</summary>
/// <param name="Rank">The rank that wrote it.</param>
/// <param name="Path">Where it is, relative to the storage root (<c>job/step/rank-R-eE.ota</c>), with '/' separators.</param>
/// <param name="Bytes">Its length.</param>
/// <param name="Sha256">SHA-256 of its bytes, lower-case hex.</param>
/// <param name="Tensors">The tensors it holds (<c>model/…</c> and <c>adam/…</c> names), so a loader finds any tensor's shard.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointShard(
    [property: Id(0)] int Rank,
    [property: Id(1)] string Path,
    [property: Id(2)] long Bytes,
    [property: Id(3)] string Sha256,
    [property: Id(4)] IReadOnlyList<string> Tensors);
