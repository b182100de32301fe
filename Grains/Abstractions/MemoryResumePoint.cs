namespace Orchestrator.Grains;

/// <summary>
/// Where the ranks of a recovery start when every shard of one step survives in peer memory: the step, its scalar
/// state, and for each rank that wrote a non-empty shard the live nodes holding its copy.
/// </summary>
/// <param name="JobId">The job.</param>
/// <param name="Step">The step restored.</param>
/// <param name="StateJson">The trainer's scalar state at that step.</param>
/// <param name="Shards">Each shard of the step, by the rank that wrote it, with its holders.</param>
[GenerateSerializer, Immutable]
public sealed record MemoryResumePoint(
    [property: Id(0)] string JobId,
    [property: Id(1)] long Step,
    [property: Id(2)] string StateJson,
    [property: Id(3)] IReadOnlyList<MemoryShard> Shards);

/// <summary>One rank's in-memory shard of a step and the nodes that hold it (nearest first).</summary>
/// <param name="Rank">The rank that wrote it.</param>
/// <param name="Parts">How many parts it is read in.</param>
/// <param name="Bytes">Its tensor bytes.</param>
/// <param name="Tensors">The tensors it holds (prefixed names).</param>
/// <param name="Holders">The nodes whose holder keeps it.</param>
[GenerateSerializer, Immutable]
public sealed record MemoryShard(
    [property: Id(0)] int Rank,
    [property: Id(1)] int Parts,
    [property: Id(2)] long Bytes,
    [property: Id(3)] IReadOnlyList<string> Tensors,
    [property: Id(4)] IReadOnlyList<string> Holders);
