namespace Orchestrator.Grains.Jobs;

/// <summary>
/// One row of the job's move table: in phase <paramref name="From"/> (null: no job yet), on
/// <paramref name="Trigger"/>, when <paramref name="Guard"/> holds, the job goes to <paramref name="To"/> and
/// its history records <paramref name="Records"/>, in that order. A row whose <paramref name="To"/> is its
/// <paramref name="From"/> records without moving, except a recovery (to <see cref="JobPhase.Recovering"/> from
/// it), which moves to the next epoch.
/// </summary>
public sealed record JobMove(JobPhase? From, JobTrigger Trigger, JobGuard Guard, JobPhase To, IReadOnlyList<string> Records)
{
    /// <summary>Whether the move goes to a new epoch (every move to Recovering does).</summary>
    public bool NextEpoch => To == JobPhase.Recovering && Records.Contains(JobEvents.Recovering);

    /// <inheritdoc />
    public override string ToString() =>
        $"{From?.ToString() ?? "(new)"} --{Trigger} [{Guard.Name}]--> {To} records [{string.Join(", ", Records)}]";
}

/// <summary>A named condition over what the job grain knows at the moment of a trigger.</summary>
/// <param name="Name">What the condition says, for readers of the table and of refusals.</param>
/// <param name="Holds">The condition.</param>
public sealed record JobGuard(string Name, Func<JobFacts, bool> Holds)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>What the job grain knows when a trigger comes: the inputs of the table's guards (unset ones are false or 0).</summary>
public sealed record JobFacts
{
    /// <summary>The job's epoch: 1 for the first plan, one more for every recovery.</summary>
    public long Epoch { get; init; }

    /// <summary>The spec's <c>recovery.max_attempts</c>.</summary>
    public int MaxRecoveries { get; init; }

    /// <summary>Every rank of the current plan has finished.</summary>
    public bool AllRanksFinished { get; init; }

    /// <summary>A rank's failure is one a new epoch may get past (a peer or node gone), and the job has more than one rank.</summary>
    public bool Retryable { get; init; }

    /// <summary>The failure is the spec's (a refused spec or argument), which no new epoch mends.</summary>
    public bool SpecError { get; init; }

    /// <summary>The lost node holds ranks of the current plan, and that plan is the current epoch's.</summary>
    public bool NodeInCurrentPlan { get; init; }

    /// <summary>The lost node held ranks of the plan being recovered from, and the history does not name its loss yet.</summary>
    public bool NodeInOldPlanUnrecorded { get; init; }

    /// <summary>A recovery has waited for devices longer than the spec's <c>recovery.timeout_s</c>.</summary>
    public bool RecoveryTimedOut { get; init; }

    /// <summary>This recovery has already recorded that it waits for nodes.</summary>
    public bool WaitReported { get; init; }
}
