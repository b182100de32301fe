namespace Orchestrator.Grains.Checkpoints;

/// <summary>The job-history entries the checkpoint coordinator writes.</summary>
public static class CheckpointEvents
{
    /// <summary>A checkpoint was committed: step, epoch, bytes, seconds, shards.</summary>
    public const string Committed = "checkpoint-committed";

    /// <summary>A checkpoint was abandoned (a rank could not write its shard): step, rank, reason.</summary>
    public const string Failed = "checkpoint-failed";

    /// <summary>A committed checkpoint did not verify when the job was about to load it: step, problems, what is used instead.</summary>
    public const string Corrupt = "checkpoint-corrupt";

    /// <summary>Committed checkpoints let go by the retention policy: steps.</summary>
    public const string Expired = "checkpoint-expired";
}
