namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// Which rank owns which routed experts: contiguous ranges of E / EP experts, so that an expert
/// group (node) maps to consecutive ranks, as node-limited routing wants.
/// </summary>
public sealed record ExpertPlacement(int Experts, int WorldSize)
{
    public int PerRank => Experts / WorldSize;

    /// <summary>Validates that the experts divide evenly over the ranks.</summary>
    public static ExpertPlacement Create(int experts, int worldSize)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "expert parallelism needs at least one rank");
        if (experts % worldSize != 0)
            throw new ArgumentException($"model.n_routed_experts ({experts}) is not divisible by the expert-parallel size ({worldSize})", nameof(experts));
        return new ExpertPlacement(experts, worldSize);
    }

    public int OwnerOf(int expert) => expert / PerRank;

    public int FirstOf(int rank) => rank * PerRank;
}
