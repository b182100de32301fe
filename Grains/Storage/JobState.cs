namespace Orchestrator.Grains.Storage;

/// <summary>
/// The states of a job's life. The store keeps them as text, so adding a state needs no migration;
/// which transitions are legal is the job grain's business, the store only fences them.
/// </summary>
public enum JobState
{
    /// <summary>Submitted, not yet planned.</summary>
    Pending,

    /// <summary>Ranks are being placed on live nodes.</summary>
    Planning,

    /// <summary>Training steps are running.</summary>
    Running,

    /// <summary>A node was lost; re-planning and reloading the last committed checkpoint.</summary>
    Recovering,

    /// <summary>Stopped on request; can resume.</summary>
    Paused,

    /// <summary>Reached its last step.</summary>
    Completed,

    /// <summary>Gave up; <see cref="JobRecord.Error"/> says why.</summary>
    Failed,

    /// <summary>Cancelled by the user.</summary>
    Cancelled,
}
