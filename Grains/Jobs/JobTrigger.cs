namespace Orchestrator.Grains.Jobs;

/// <summary>What happens to a job that may move it: the events of its state machine (see <see cref="JobMoves"/>).</summary>
public enum JobTrigger
{
    /// <summary>A client submitted the spec and the index recorded the job.</summary>
    Submit,

    /// <summary>The cluster placed the first epoch's ranks.</summary>
    Plan,

    /// <summary>Every rank of the plan was started.</summary>
    Start,

    /// <summary>A rank could not be started.</summary>
    StartFailed,

    /// <summary>A rank reported (or the watch found) that it reached the last step.</summary>
    RankFinished,

    /// <summary>A rank reported (or the watch found) that it failed.</summary>
    RankFailed,

    /// <summary>The cluster reported a node dead.</summary>
    NodeLost,

    /// <summary>A re-plan of a recovering job fitted the live devices.</summary>
    Replanned,

    /// <summary>A re-plan of a recovering job did not fit the live devices.</summary>
    NoDevices,

    /// <summary>A client cancelled the job.</summary>
    Cancel,
}
