namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The ranks' data-plane reports, recorded in batches: each report is kept in memory and one <c>data-plane</c>
/// event (<c>{ranks: [{rank, device, data_plane, reason, epoch}]}</c>, each report with its own epoch) holds every report that came in
/// within <see cref="DataPlaneBatchWindow"/>, and what is pending is written before the job ends. One event per
/// rank made a 2,048-rank start 2,048 index writes in the job grain, behind which the first step reports queued.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>How long reports gather before they are written as one event.</summary>
    private static readonly TimeSpan DataPlaneBatchWindow = TimeSpan.FromSeconds(1);

    private readonly List<object> _pendingDataPlanes = [];
    private IGrainTimer? _dataPlaneFlush;

    /// <inheritdoc />
    public Task ReportDataPlane(long epoch, int rank, string device, string dataPlane, string reason)
    {
        RequireEpoch(epoch);
        if (_record is null || JobMoves.IsTerminal(_record.State)) return Task.CompletedTask;
        _pendingDataPlanes.Add(new { rank, device, data_plane = dataPlane, reason, epoch });
        _dataPlaneFlush ??= this.RegisterGrainTimer(Scoped(_ => FlushDataPlanesAsync()), new GrainTimerCreationOptions(DataPlaneBatchWindow, Timeout.InfiniteTimeSpan) { Interleave = false });
        return Task.CompletedTask;
    }

    /// <summary>Writes the pending reports as one event (nothing when none are pending).</summary>
    private async Task FlushDataPlanesAsync()
    {
        _dataPlaneFlush?.Dispose();
        _dataPlaneFlush = null;
        if (_pendingDataPlanes.Count == 0) return;
        var batch = _pendingDataPlanes.ToArray();
        _pendingDataPlanes.Clear();
        try
        {
            await jobStore.AppendJobEventAsync(Id, JobEvents.DataPlane, JobEvents.Detail(new { ranks = batch }));
        }
        catch
        {
            _pendingDataPlanes.InsertRange(0, batch); // the next report, or the job's end, tries again
            throw;
        }
    }
}
