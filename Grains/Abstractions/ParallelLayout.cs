namespace Orchestrator.Grains;

/// <summary>The parallel layout of a job: EP ranks share the routed experts, DP replicas split the batch.</summary>
/// <param name="Ep">Expert-parallel degree.</param>
/// <param name="Dp">Data-parallel degree.</param>
[GenerateSerializer, Immutable]
public sealed record ParallelLayout([property: Id(0)] int Ep, [property: Id(1)] int Dp)
{
    /// <summary>Ranks the job needs: one device each.</summary>
    public int Ranks => Ep * Dp;
}
