namespace Orchestrator.Grains;

/// <summary>
/// One rank's message to another inside a collective (the expert-parallel data plane over grain
/// calls): a tensor as raw bytes with its shape and dtype, or integers, or an abort. Bytes, not JSON.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CollectivePayload(
    [property: Id(0)] long Sequence,
    [property: Id(1)] int Source,
    [property: Id(2)] long[]? Shape,
    [property: Id(3)] int DType,
    [property: Id(4)] byte[]? Data,
    [property: Id(5)] long[]? Integers,
    [property: Id(6)] string? Abort);
