namespace Orchestrator.Grains.Storage;

/// <summary>
/// Jobs and their history in the index: the job row (spec, state, fencing epoch) and its gap-free event log.
/// The job grain writes it; the cluster grain, the checkpoint coordinator, the dashboard and the CLI read it.
/// </summary>
/// <remarks>
/// Invalid input throws <see cref="ArgumentException"/> naming the argument and what is wrong with it,
/// before anything is written. Operations on a job that does not exist throw
/// <see cref="KeyNotFoundException"/>, except <see cref="TryTransitionJobAsync"/>, for which a missing
/// job is one more way of not being where the caller expected.
/// </remarks>
public interface IJobStore
{
    /// <summary>Records a new job in <see cref="JobPhase.Submitted"/> at epoch 0.</summary>
    /// <returns>The new job, or null if a job with this id already exists (which is left as it was).</returns>
    Task<JobRecord?> TryCreateJobAsync(string id, string specJson, CancellationToken cancellationToken = default);

    /// <summary>The job, or null if there is none with this id.</summary>
    Task<JobRecord?> GetJobAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Jobs (only those in <paramref name="state"/> if given), oldest first.</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsAsync(JobPhase? state = null, CancellationToken cancellationToken = default);

    /// <summary>Moves a job to a new state and epoch if it is still at the expected ones.</summary>
    /// <returns>True if it moved; false if it was elsewhere (or absent), in which case nothing changed.</returns>
    Task<bool> TryTransitionJobAsync(JobTransition transition, CancellationToken cancellationToken = default);

    /// <summary>Appends an entry to a job's history.</summary>
    /// <returns>The entry as stored, with its sequence number (one more than the previous entry's).</returns>
    Task<JobEvent> AppendJobEventAsync(
        string jobId, string kind, string? detailJson = null, CancellationToken cancellationToken = default);

    /// <summary>A job's history after <paramref name="afterSeq"/>, in order, at most <paramref name="limit"/> entries.</summary>
    Task<IReadOnlyList<JobEvent>> ListJobEventsAsync(
        string jobId, long afterSeq = 0, int limit = 1000, CancellationToken cancellationToken = default);
}
