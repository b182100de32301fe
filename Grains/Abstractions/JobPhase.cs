namespace Orchestrator.Grains;

/// <summary>
/// Where a job is in its life: what clients see, what the job grain's move table (JobMoves) speaks of and what
/// the index stores. The store keeps it as text — the member's name, except <see cref="Submitted"/>, which
/// existing databases hold as "Pending" (the one mapping, at the store's edge: Storage/StoredJobPhase.cs).
/// Orleans sends it as a number, so the members keep their order.
/// </summary>
public enum JobPhase
{
    /// <summary>Accepted and recorded, not yet planned (stored as "Pending").</summary>
    Submitted,

    /// <summary>Ranks are being placed on live nodes.</summary>
    Planning,

    /// <summary>Training steps are running.</summary>
    Running,

    /// <summary>A node or rank was lost: a new epoch is being planned on the live nodes, to resume from the last committed checkpoint.</summary>
    Recovering,

    /// <summary>Stopped on request; can resume (not yet used: no move leads here).</summary>
    Paused,

    /// <summary>Reached its last step (or its time limit).</summary>
    Completed,

    /// <summary>Gave up; the status (and the job record's error) says why.</summary>
    Failed,

    /// <summary>Cancelled by the user.</summary>
    Cancelled,
}
