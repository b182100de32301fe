using Orchestrator.Grains.Ranks;

namespace Orchestrator.Grains.Pipeline;

/// <summary>
/// A pipeline stage of one epoch (<see cref="IPipelineStageGrain"/>): pinned to the node of the stage's first rank by
/// the rank placement (its key has a rank key's shape, the stage in the rank's place), holding the stage's newest
/// timeline in memory. A new epoch (after a recovery) is a new grain; an old epoch's is collected when idle.
/// </summary>
[RankPlacement]
public sealed class PipelineStageGrain : Grain, IPipelineStageGrain
{
    private StageTimeline? _latest;

    private RankKey Key => RankKey.Parse(this.GetPrimaryKeyString());

    /// <summary>The key of stage <paramref name="stage"/> of <paramref name="jobId"/>'s epoch, pinned with the stage's first rank on <paramref name="node"/>.</summary>
    public static string KeyOf(string jobId, long epoch, int stage, string node) => new RankKey(jobId, epoch, stage, node).ToString();

    /// <inheritdoc />
    public Task Record(StageTimeline timeline)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        var key = Key;
        if (timeline.Stage != key.Rank || timeline.Epoch != key.Epoch)
            throw new ArgumentException($"stage {key.Rank} of epoch {key.Epoch} of job {key.JobId} was sent the timeline of stage {timeline.Stage}, epoch {timeline.Epoch}", nameof(timeline));
        if (_latest is null || timeline.Step > _latest.Step) _latest = timeline;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<StageTimeline?> Latest() => Task.FromResult(_latest);
}
