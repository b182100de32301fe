using static Orchestrator.Grains.JobPhase;
using static Orchestrator.Grains.Jobs.JobTrigger;
using E = Orchestrator.Grains.Jobs.JobEvents;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's state machine, whole: every move the job grain makes is a row here, found by (phase, trigger) and
/// the first guard that holds. A (phase, trigger) with no row is refused (<see cref="Find"/> throws, naming both);
/// one whose guards all fail moves nothing. Completed, Failed and Cancelled have no rows: nothing leaves them.
/// </summary>
public static class JobMoves
{
    /// <summary>Always true.</summary>
    public static readonly JobGuard Always = new("always", _ => true);

    /// <summary>Every rank of the current plan finished.</summary>
    public static readonly JobGuard AllFinished = new("every rank finished", f => f.AllRanksFinished);

    /// <summary>A recovery is still allowed: epoch 1 is the first plan, and every recovery adds one.</summary>
    public static readonly JobGuard RecoveriesLeft = new("epoch ≤ recovery.max_attempts", f => f.Epoch <= f.MaxRecoveries);

    /// <summary>The recoveries are used up.</summary>
    public static readonly JobGuard NoRecoveriesLeft = new("epoch > recovery.max_attempts", f => f.Epoch > f.MaxRecoveries);

    /// <summary>A start failure that is the spec's fault: no new epoch mends it.</summary>
    public static readonly JobGuard SpecError = new("a spec error", f => f.SpecError);

    /// <summary>A start failure that a new epoch may get past, with recoveries left.</summary>
    public static readonly JobGuard StartRetryable = new("not a spec error, epoch ≤ recovery.max_attempts", f => !f.SpecError && f.Epoch <= f.MaxRecoveries);

    /// <summary>A retryable rank failure in a job of more than one rank, with recoveries left.</summary>
    public static readonly JobGuard RetryableWithRecoveries = new("retryable, > 1 rank, epoch ≤ recovery.max_attempts", f => f.Retryable && f.Epoch <= f.MaxRecoveries);

    /// <summary>A rank failure that no recovery will be tried for: not retryable, a single rank, or the recoveries used up.</summary>
    public static readonly JobGuard Fatal = new("not retryable, 1 rank, or epoch > recovery.max_attempts", f => !f.Retryable || f.Epoch > f.MaxRecoveries);

    /// <summary>The lost node holds ranks of the current epoch's plan, with recoveries left.</summary>
    public static readonly JobGuard LostInPlan = new("node in the current plan, epoch ≤ recovery.max_attempts", f => f.NodeInCurrentPlan && f.Epoch <= f.MaxRecoveries);

    /// <summary>The lost node holds ranks of the current epoch's plan, and the recoveries are used up.</summary>
    public static readonly JobGuard LostInPlanNoRecoveries = new("node in the current plan, epoch > recovery.max_attempts", f => f.NodeInCurrentPlan && f.Epoch > f.MaxRecoveries);

    /// <summary>The lost node was in the plan being recovered from, and its loss is not in the history yet.</summary>
    public static readonly JobGuard LostInOldPlan = new("node in the plan recovered from, loss not yet recorded", f => f.NodeInOldPlanUnrecorded);

    /// <summary>A recovery waited longer than recovery.timeout_s for devices.</summary>
    public static readonly JobGuard TimedOut = new("waited > recovery.timeout_s", f => f.RecoveryTimedOut);

    /// <summary>The first time a recovery finds too few devices, within its timeout.</summary>
    public static readonly JobGuard FirstWait = new("within recovery.timeout_s, not yet recorded", f => !f.RecoveryTimedOut && !f.WaitReported);

    private static readonly JobPhase[] Live = [JobPhase.Planning, Running, Recovering];

    // Paused is not among them: no move leads there yet, and a row from it could never be taken.
    private static readonly JobPhase[] Unfinished = [Submitted, JobPhase.Planning, Running, Recovering];

    /// <summary>The table, in the order guards are tried.</summary>
    public static IReadOnlyList<JobMove> All { get; } =
    [
        // from              trigger        guard                    to                 records
        Row(null,             Submit,        Always,                  Submitted,         E.Submitted),
        Row(Submitted,        Plan,          Always,                  JobPhase.Planning, E.Planned),
        Row(JobPhase.Planning, Start,        Always,                  Running,           E.Started),
        Row(JobPhase.Planning, StartFailed,  Always,                  Failed,            E.Failed),
        Row(Running,    RankFinished,  AllFinished,             Completed,  E.Completed),
        .. Each(Live,   RankFailed,    RetryableWithRecoveries, Recovering, E.Recovering),
        .. Each(Live,   RankFailed,    Fatal,                   Failed,     E.Failed),
        .. Each(Live,   NodeLost,      LostInPlan,              Recovering, E.NodeLost, E.Recovering),
        .. Each(Live,   NodeLost,      LostInPlanNoRecoveries,  Failed,     E.NodeLost, E.Failed),
        Row(Recovering, NodeLost,      LostInOldPlan,           Recovering, E.NodeLost),
        Row(Recovering, Replanned,     Always,                  Recovering, E.Planned),
        Row(Recovering, NoDevices,     TimedOut,                Failed,     E.Failed),
        Row(Recovering, NoDevices,     FirstWait,               Recovering, E.WaitingForNodes),
        Row(Recovering, Start,         Always,                  Running,    E.Recovered),
        Row(Recovering, StartFailed,   StartRetryable,          Recovering, E.Recovering),
        Row(Recovering, StartFailed,   Always,                  Failed,     E.Failed),
        .. Each(Unfinished, Cancel,    Always,                  Cancelled,  E.Cancelled),
    ];

    /// <summary>Whether nothing leaves <paramref name="phase"/>: no row starts there.</summary>
    public static bool IsTerminal(JobPhase phase) => phase is Completed or Failed or Cancelled;

    /// <summary>Whether the table has rows for <paramref name="trigger"/> in <paramref name="from"/>.</summary>
    public static bool Handles(JobPhase? from, JobTrigger trigger) => All.Any(m => m.From == from && m.Trigger == trigger);

    /// <summary>
    /// The move for <paramref name="trigger"/> in <paramref name="from"/>: the first row whose guard holds for
    /// <paramref name="facts"/>, or null when none does (the trigger moves nothing then).
    /// </summary>
    /// <exception cref="InvalidOperationException">The table has no row for (<paramref name="from"/>, <paramref name="trigger"/>).</exception>
    public static JobMove? Find(JobPhase? from, JobTrigger trigger, JobFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var rows = All.Where(m => m.From == from && m.Trigger == trigger).ToList();
        if (rows.Count == 0)
            throw new InvalidOperationException($"a job in phase {from?.ToString() ?? "(new)"} has no move on {trigger}");
        return rows.FirstOrDefault(m => m.Guard.Holds(facts));
    }

    private static JobMove Row(JobPhase? from, JobTrigger trigger, JobGuard guard, JobPhase to, params string[] records) =>
        new(from, trigger, guard, to, records);

    private static IEnumerable<JobMove> Each(JobPhase[] from, JobTrigger trigger, JobGuard guard, JobPhase to, params string[] records) =>
        from.Select(f => Row(f, trigger, guard, to, records));
}
