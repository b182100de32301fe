using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// Decides after each step whether the routed experts move, from the step's global loads (the trainer asks it once per
/// step, on every rank); the answer is the same on every rank.
/// </summary>
public interface IExpertPlacementAuthority
{
    /// <summary>The map the next step routes by, when it differs from <paramref name="current"/>; null to stay.</summary>
    ExpertMap? Decide(long step, IReadOnlyList<long[]> loads, ExpertMap current);
}

/// <summary>The schedule decided here, in process (every rank of a test, or the job's balancer grain, runs the same one).</summary>
public sealed class LocalPlacementAuthority(ExpertReplacementSchedule schedule) : IExpertPlacementAuthority
{
    /// <inheritdoc />
    public ExpertMap? Decide(long step, IReadOnlyList<long[]> loads, ExpertMap current) => schedule.Observe(step, loads, current);
}
