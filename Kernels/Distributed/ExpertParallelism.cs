namespace Orchestrator.Kernels.Distributed;

/// <summary>What one rank needs to run its part of an expert-parallel model.</summary>
public sealed record ExpertParallelism(ICollective Collective, ExpertPlacement Placement)
{
    public int Rank => Collective.Rank;

    public int WorldSize => Collective.WorldSize;

    public bool Owns(int expert) => Placement.OwnerOf(expert) == Rank;
}
