namespace Orchestrator.Grains.Jobs;

/// <summary>Submission checks of the job kinds: a refused spec leaves nothing in the index.</summary>
public sealed partial class JobGrain
{
    /// <summary>
    /// Refuses a kind that does not run on ranks yet, data that does not read (off the scheduler: an sft file is read
    /// and tokenised whole) and an sft parent that is not a committed checkpoint, each naming its field.
    /// </summary>
    private async Task CheckKindAsync(JobSpec spec)
    {
        await Task.Run(() => JobData.Check(spec));
        if (spec.Sft is { } sft) await RequireCommittedAsync(sft.FromCheckpoint, "sft.from_checkpoint");
        if (spec.Grpo is { } grpo) await RequireGrpoCheckpointsAsync(grpo);
    }

    private async Task RequireCommittedAsync(CheckpointSource source, string field)
    {
        IReadOnlyList<CheckpointManifest> committed;
        try
        {
            committed = await GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(source.JobId).List();
        }
        catch (KeyNotFoundException)
        {
            throw new JobSpecException(field, $"there is no job '{source.JobId}'");
        }
        if (committed.All(c => c.Step != source.Step))
        {
            var steps = committed.Count == 0 ? "none" : string.Join(", ", committed.Select(c => c.Step));
            throw new JobSpecException(field, $"job '{source.JobId}' has no committed checkpoint at step {source.Step} (committed: {steps})");
        }
    }
}
