namespace Orchestrator.Grains.Storage;

/// <summary>
/// The index behind the control plane: nodes and their devices, jobs, their history and metrics.
/// PostgreSQL for clusters (<see cref="PostgresMetadataStore"/>), SQLite for the single-node demo
/// (<see cref="SqliteMetadataStore"/>); both pass one contract suite.
/// </summary>
/// <remarks>
/// Invalid input throws <see cref="ArgumentException"/> naming the argument and what is wrong with it,
/// before anything is written. Operations on a job that does not exist throw
/// <see cref="KeyNotFoundException"/>, except <see cref="TryTransitionJobAsync"/>, for which a missing
/// job is one more way of not being where the caller expected.
/// </remarks>
public interface IMetadataStore : IAsyncDisposable
{
    /// <summary>Records a node as alive now, with exactly the given devices.</summary>
    Task UpsertNodeAsync(NodeRegistration node, CancellationToken cancellationToken = default);

    /// <summary>Marks a node alive or dead and stamps it as seen now.</summary>
    /// <returns>False if no such node is recorded.</returns>
    Task<bool> MarkNodeAsync(string name, NodeStatus status, CancellationToken cancellationToken = default);

    /// <summary>Every recorded node with its devices, ordered by name.</summary>
    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default);

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

    /// <summary>
    /// Records metric samples of a job, all or none. A sample for a (name, step) already recorded replaces
    /// it: steps replayed after a recovery report again.
    /// </summary>
    Task AppendMetricsAsync(
        string jobId, IReadOnlyList<MetricSample> samples, CancellationToken cancellationToken = default);

    /// <summary>A job's metric samples, ordered by name then step.</summary>
    Task<IReadOnlyList<MetricSample>> QueryMetricsAsync(
        string jobId, MetricQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits a checkpoint: its row and its shard rows in one transaction, provided the job is still at
    /// the manifest's epoch (a zombie rank or coordinator of an older epoch cannot commit). A checkpoint
    /// already recorded at that step (a step replayed after a recovery) is replaced in the same transaction.
    /// </summary>
    /// <param name="manifest">The checkpoint.</param>
    /// <param name="eventDetailJson">
    /// When given, a <c>checkpoint-committed</c> job event with this detail is appended in the same transaction:
    /// a reader never sees the checkpoint without its event.
    /// </param>
    /// <param name="cancellationToken">Cancels the commit (nothing is stored).</param>
    /// <returns>The manifest as stored (stamped with its commit time), or null if the job is at another epoch.</returns>
    Task<CheckpointManifest?> CommitCheckpointAsync(
        CheckpointManifest manifest, string? eventDetailJson = null, CancellationToken cancellationToken = default);

    /// <summary>A job's committed checkpoints with their shards, oldest (lowest step) first.</summary>
    Task<IReadOnlyList<CheckpointManifest>> ListCheckpointsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>A job's committed checkpoint at <paramref name="step"/>, or its latest if step is null; null if there is none.</summary>
    Task<CheckpointManifest?> GetCheckpointAsync(string jobId, long? step = null, CancellationToken cancellationToken = default);

    /// <summary>Removes committed checkpoints (rows and shard rows, in one transaction); their files become garbage.</summary>
    /// <returns>How many were removed.</returns>
    Task<int> DeleteCheckpointsAsync(string jobId, IReadOnlyList<long> steps, CancellationToken cancellationToken = default);

    // ---- Expert loads (the dashboard's heatmap); migration 0002_expert_load ----

    /// <summary>
    /// Records the per-layer expert loads and biases of a job's steps, all or none. A (step, layer)
    /// already recorded is replaced (a replayed step reports again).
    /// </summary>
    Task AppendExpertLoadsAsync(
        string jobId, IReadOnlyList<ExpertLoadSample> samples, CancellationToken cancellationToken = default);

    /// <summary>A job's expert loads from <paramref name="fromStep"/> to <paramref name="toStep"/> (inclusive), ordered by step then layer.</summary>
    Task<IReadOnlyList<ExpertLoadSample>> QueryExpertLoadsAsync(
        string jobId, long fromStep = 0, long toStep = long.MaxValue, CancellationToken cancellationToken = default);
}
