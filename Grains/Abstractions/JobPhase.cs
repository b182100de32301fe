namespace Orchestrator.Grains;

/// <summary>Where a job is in its life, as clients see it (the store's states, named for users).</summary>
public enum JobPhase
{
    /// <summary>Accepted and recorded, not yet planned.</summary>
    Submitted,

    /// <summary>Ranks are being placed on live nodes.</summary>
    Planning,

    /// <summary>Training steps are running.</summary>
    Running,

    /// <summary>A node or rank was lost: a new epoch is being planned on the live nodes, to resume from the last committed checkpoint.</summary>
    Recovering,

    /// <summary>Stopped on request; can resume (not yet used).</summary>
    Paused,

    /// <summary>Reached its last step (or its time limit).</summary>
    Completed,

    /// <summary>Gave up; the status says why.</summary>
    Failed,

    /// <summary>Cancelled by the user.</summary>
    Cancelled,
}
