namespace Orchestrator.Grains.Jobs;

/// <summary>
/// A recovery's end as training sees it: the new epoch's first completed step (rank 0's report). The <c>resumed</c>
/// event then records where the state came from, the steps lost, the slowest rank's start and state load (of the ranks
/// heard by then) and the time from the failure being noticed, and from the last step heard before it (an upper bound
/// of the kill's moment), to that step. The recovered event, written when the ranks start, has the times up to there.
/// </summary>
public sealed partial class JobGrain
{
    private Resuming? _resuming;

    /// <summary>The new epoch's ranks started after a recovery: its first step writes the resumed event.</summary>
    private void ExpectResumed(long epoch, long fromStep, string source) =>
        _resuming = new Resuming(epoch, fromStep, source, Math.Max(0, _recoveringFromStep - fromStep), _noticedAt, _lastStepBeforeFailure);

    private async Task NoteResumedAsync(long epoch, int rank, StepMetrics metrics)
    {
        if (_resuming is not { } resuming || resuming.Epoch != epoch) return;
        if (metrics.ReadySeconds is { } ready) resuming.ReadySeconds = Math.Max(resuming.ReadySeconds, ready);
        if (metrics.LoadSeconds is { } load) resuming.LoadSeconds = Math.Max(resuming.LoadSeconds, load);
        if (rank != 0) return;
        _resuming = null;
        var now = DateTimeOffset.UtcNow;
        await jobStore.AppendJobEventAsync(Id, JobEvents.Resumed, JobEvents.Detail(new
        {
            epoch,
            step = metrics.Step,
            from_step = resuming.FromStep,
            source = resuming.Source,
            steps_lost = resuming.StepsLost,
            rank_ready_ms = resuming.ReadySeconds * 1000,
            state_load_ms = resuming.LoadSeconds * 1000,
            noticed_to_step_ms = resuming.NoticedAt is { } noticed ? (now - noticed).TotalMilliseconds : (double?)null,
            last_step_to_step_ms = resuming.LastStepAt is { } last ? (now - last).TotalMilliseconds : (double?)null,
        }));
    }

    private sealed record Resuming(long Epoch, long FromStep, string Source, long StepsLost, DateTimeOffset? NoticedAt, DateTimeOffset? LastStepAt)
    {
        public double ReadySeconds { get; set; }

        public double LoadSeconds { get; set; }
    }
}
