using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Jobs;

/// <summary>Maps the store's job states to the phases clients see.</summary>
internal static class JobPhases
{
    public static JobPhase Of(JobState state) => state switch
    {
        JobState.Pending => JobPhase.Submitted,
        JobState.Planning => JobPhase.Planning,
        JobState.Running => JobPhase.Running,
        JobState.Recovering => JobPhase.Recovering,
        JobState.Paused => JobPhase.Paused,
        JobState.Completed => JobPhase.Completed,
        JobState.Failed => JobPhase.Failed,
        JobState.Cancelled => JobPhase.Cancelled,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown job state"),
    };

    public static bool IsFinal(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Cancelled;
}
