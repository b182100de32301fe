namespace Orchestrator.Grains;

/// <summary>A job as clients see it: phase, progress, the latest metrics.</summary>
/// <param name="Id">The job id.</param>
/// <param name="Phase">Where it is in its life.</param>
/// <param name="Epoch">The fencing epoch.</param>
/// <param name="Step">The last step reported.</param>
/// <param name="Steps">The step count it aims at.</param>
/// <param name="Loss">Loss of the last step (NaN before the first).</param>
/// <param name="TokensPerSecond">Throughput of the last step, summed over ranks.</param>
/// <param name="MaxVio">MaxVio of the last step.</param>
/// <param name="Error">Why it failed, if it did.</param>
/// <param name="Plan">Where its ranks run, once planned.</param>
/// <param name="UpdatedAt">When its phase last changed.</param>
[GenerateSerializer, Immutable]
public sealed record JobStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] JobPhase Phase,
    [property: Id(2)] long Epoch,
    [property: Id(3)] long Step,
    [property: Id(4)] long Steps,
    [property: Id(5)] double Loss,
    [property: Id(6)] double TokensPerSecond,
    [property: Id(7)] double MaxVio,
    [property: Id(8)] string? Error,
    [property: Id(9)] RankPlan? Plan,
    [property: Id(10)] DateTimeOffset UpdatedAt)
{
    /// <summary>True once the job will not change again.</summary>
    public bool IsFinal => Phase is JobPhase.Completed or JobPhase.Failed or JobPhase.Cancelled;

    /// <summary>The alerts the job raised, oldest first (the latest ones, at most <c>JobGrain</c>'s limit).</summary>
    [Id(11)]
    public IReadOnlyList<JobAlert> Alerts { get; init; } = [];

    /// <summary>The newest step every rank's peer snapshot is known complete at (null without peer snapshots, or before the first).</summary>
    [Id(12)]
    public long? MemoryStep { get; init; }

    /// <summary>MaxVio of the last steps' loads summed (<c>JobGrain.BalanceWindowSteps</c>): the balance of a batch of them, through the noise of single steps.</summary>
    [Id(13)]
    public double MaxVioWindow { get; init; }
}
