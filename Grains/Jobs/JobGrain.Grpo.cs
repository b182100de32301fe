namespace Orchestrator.Grains.Jobs;

/// <summary>A grpo job's submission check of its two checkpoints.</summary>
public sealed partial class JobGrain
{
    /// <summary>The policy's start and the frozen reference must both be committed checkpoints, each refused naming its field.</summary>
    private async Task RequireGrpoCheckpointsAsync(GrpoSpec grpo)
    {
        await RequireCommittedAsync(grpo.FromCheckpoint, "grpo.from_checkpoint");
        if (grpo.Reference != grpo.FromCheckpoint) await RequireCommittedAsync(grpo.Reference, "grpo.reference");
    }
}
