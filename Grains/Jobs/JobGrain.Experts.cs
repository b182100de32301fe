namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's expert re-placements (issue 14): rank 0 reports each one it made at a step boundary and the job stores it
/// as an <c>expert-replacement</c> event — the step, the maps before and after, each rank's load of that step under
/// both, and what the move cost.
/// </summary>
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public async Task ReportExpertReplacement(long epoch, ExpertReplacementReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        RequireEpoch(epoch);
        if (_record is null || JobMoves.IsTerminal(_record.State)) return;
        await jobStore.AppendJobEventAsync(Id, JobEvents.ExpertReplacement, JobEvents.Detail(new
        {
            step = report.Step,
            epoch,
            from = new { version = report.From.Version, slots = report.From.Slots },
            to = new { version = report.To.Version, slots = report.To.Slots },
            rank_loads_before = report.RankLoadsBefore,
            rank_loads_after = report.RankLoadsAfter,
            copies = report.Copies,
            bytes = report.Bytes,
            seconds = report.Seconds,
        }));
    }
}
