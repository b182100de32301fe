namespace Orchestrator.Grains;

/// <summary>
/// Deliberate faults, for tests and drills only (job spec <c>faults</c>; absent, nothing is injected, and no other path
/// injects anything). Each fires in one epoch only (<paramref name="Epoch"/>, default the first), so a recovery that
/// follows it runs clean.
/// </summary>
/// <param name="NanStep">The 1-based step whose loss (and so its gradients) is made NaN on every rank (real ranks only).</param>
/// <param name="StallRank">The rank that stalls, once per epoch the faults fire in.</param>
/// <param name="StallStep">The 1-based step before which that rank stalls: before the first step at or after it that the epoch runs, so a recovered epoch can stall at its start.</param>
/// <param name="StallSeconds">How long it stalls.</param>
/// <param name="CheckpointFailStep">The checkpoint step whose shard write fails on rank 0 (an I/O error; any rank kind).</param>
/// <param name="Epoch">The epoch the faults fire in.</param>
[GenerateSerializer, Immutable]
public sealed record FaultInjection(
    [property: Id(0)] long? NanStep = null,
    [property: Id(1)] int? StallRank = null,
    [property: Id(2)] long StallStep = 1,
    [property: Id(3)] double StallSeconds = 0,
    [property: Id(4)] long? CheckpointFailStep = null,
    [property: Id(5)] long Epoch = 1);
