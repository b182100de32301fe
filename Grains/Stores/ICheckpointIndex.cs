namespace Orchestrator.Grains.Storage;

/// <summary>
/// The checkpoint index: committed manifests and their shard rows. It is the only truth about checkpoints:
/// a shard file with no committed manifest does not exist.
/// </summary>
/// <remarks>
/// Invalid input throws <see cref="ArgumentException"/> naming the argument and what is wrong with it,
/// before anything is written. Operations on a job that does not exist throw
/// <see cref="KeyNotFoundException"/>.
/// </remarks>
public interface ICheckpointIndex
{
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
}
