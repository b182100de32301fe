namespace Orchestrator.Grains;

/// <summary>
/// A job whose ranks run on simulated devices (<c>sim:N</c>): the real rank protocol (start, a report per step,
/// rank 0's bias round trip, checkpoint shards and their two-phase commit, recovery) with the compute and the
/// collectives replaced by a timed wait, so that the control plane can be measured at thousands of ranks.
/// </summary>
/// <param name="StepMilliseconds">The wall time of one simulated step (its compute and collectives).</param>
/// <param name="ShardKilobytes">The payload of each rank's checkpoint shard, written as a real, hashed file.</param>
/// <param name="Skew">The Zipf exponent of the experts' popularity (0 is uniform); the bias updates then even it out.</param>
[GenerateSerializer, Immutable]
public sealed record SimulationSpec(
    [property: Id(0)] double StepMilliseconds = 1000,
    [property: Id(1)] int ShardKilobytes = 64,
    [property: Id(2)] double Skew = 1.0)
{
    /// <summary>The defaults: a 1 s step, 64 KiB shards, Zipf 1.0.</summary>
    public static SimulationSpec Default { get; } = new();
}
