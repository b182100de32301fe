namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A silo's batches of step reports (a singleton): the reports its ranks other than rank 0 send in one window
/// (<see cref="RankOptions.ReportBatchWindow"/>, opened by the first) go to the job in one <c>ReportSteps</c> call per
/// job and epoch. The ranks step in lockstep, so a window holds the silo's ranks' reports of one step: at 2,048 ranks on
/// 32 silos the job grain takes 32 calls a step instead of 2,047. Each report's task ends with its batch's call, and fails
/// with it (the rank's reporter then retries that report, in a later batch: reports are idempotent).
/// </summary>
public sealed class StepReportBatcher(IGrainFactory grains)
{
    private readonly Dictionary<(string Job, long Epoch), Batch> _open = [];
    private readonly Lock _gate = new();

    /// <summary>Batches <paramref name="rank"/>'s report of a step of <paramref name="job"/>'s <paramref name="epoch"/>, sent within <paramref name="window"/>.</summary>
    public Task Report(string job, long epoch, int rank, StepMetrics metrics, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(metrics);
        Batch? opened = null;
        Batch batch;
        lock (_gate)
        {
            if (!_open.TryGetValue((job, epoch), out batch!)) _open[(job, epoch)] = batch = opened = new Batch();
            batch.Reports.Add(new RankStepReport(rank, metrics));
        }

        if (opened is not null) _ = SendAfterAsync(job, epoch, opened, window);
        return batch.Sent.Task;
    }

    private async Task SendAfterAsync(string job, long epoch, Batch batch, TimeSpan window)
    {
        await Task.Delay(window).ConfigureAwait(false);
        lock (_gate) _open.Remove((job, epoch)); // later reports open the next batch
        try
        {
            await grains.GetGrain<IJobGrain>(job).ReportSteps(epoch, batch.Reports).ConfigureAwait(false);
            batch.Sent.TrySetResult();
        }
        catch (Exception e)
        {
            batch.Sent.TrySetException(e);
        }
    }

    private sealed class Batch
    {
        public List<RankStepReport> Reports { get; } = [];

        public TaskCompletionSource Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
