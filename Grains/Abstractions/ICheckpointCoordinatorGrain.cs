namespace Orchestrator.Grains;

/// <summary>
/// Two-phase commit of one job's checkpoints (key: the job id). Ranks report their shards prepared; when
/// every rank of the job has prepared a step, one transaction in the index commits its manifest, then the
/// retention policy runs and expired or uncommitted shard files are removed. Calls are fenced by the job epoch.
/// </summary>
public interface ICheckpointCoordinatorGrain : IGrainWithStringKey
{
    /// <summary>A rank's shard is on disk and hashed; returns at once (the commit, retried while the index is down, runs behind).</summary>
    /// <exception cref="StaleEpochException">The rank belongs to an older epoch than the job's.</exception>
    Task Prepared(long epoch, PreparedShard shard);

    /// <summary>A rank could not write its shard of <paramref name="step"/> (disk full, say): that checkpoint is abandoned.</summary>
    /// <exception cref="StaleEpochException">The rank belongs to an older epoch than the job's.</exception>
    Task Aborted(long epoch, long step, int rank, string reason);

    /// <summary>
    /// Where the job's ranks start from: its newest committed checkpoint whose every shard verifies (a
    /// corrupt or missing one is passed over, with a <c>checkpoint-corrupt</c> event), else the checkpoint
    /// its spec restores from (<c>resume_from</c>), else an sft job's parent (<c>sft.from_checkpoint</c>, whose weights only the ranks load), else null (start from the seed).
    /// </summary>
    Task<CheckpointManifest?> GetResumePoint();

    /// <summary>The job's committed checkpoints, oldest first, straight from the index.</summary>
    Task<IReadOnlyList<CheckpointManifest>> List();

    /// <summary>Waits until the commits in flight are done (tests, shutdown); true if nothing is left pending.</summary>
    Task<bool> Drain(TimeSpan timeout);
}
