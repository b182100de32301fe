using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The index is the job's truth; this activation's memory is a cache of it. An activation that has heard
/// nothing from its ranks for a while checks the index in the background when its status is read, and
/// adopts a state that is further on than its own (a later epoch, or an end). Only another activation of
/// the same job could have moved it — a duplicate while a silo's death spread, which then finished the job
/// out of sight of this one — so this activation also asks to be collected: the next call finds one.
/// </summary>
public sealed partial class JobGrain
{
    private DateTimeOffset _heard = DateTimeOffset.UtcNow;
    private DateTimeOffset _checked = DateTimeOffset.MinValue;
    private long _changes;
    private int _moving;
    private Task? _checking;

    /// <summary>Something happened here (a report, a move): the memory is fresh, and a check under way is moot.</summary>
    private void Heard()
    {
        _heard = DateTimeOffset.UtcNow;
        _changes++;
    }

    /// <summary>Starts a check of the index when this activation has been quiet; never waits for it.</summary>
    private void CheckIndexWhenQuiet()
    {
        if (_record is null || JobMoves.IsTerminal(_record.State) || _checking is not null || _moving > 0) return;
        var now = DateTimeOffset.UtcNow;
        if (now - _heard < _timing.QuietBeforeCheck || now - _checked < _timing.QuietBeforeCheck) return;
        _checked = now; // one check per quiet period, answered or not (the quiet itself is the watch's too)
        _checking = CheckIndexAsync();
    }

    private async Task CheckIndexAsync()
    {
        try
        {
            var changes = _changes;
            var stored = await jobStore.GetJobAsync(Id);
            var mine = _record;
            // A move of this activation's own (each counts as a change when it starts and ends) may have landed in
            // the index while its call still awaits: not news.
            if (stored is null || mine is null || _changes != changes || Order(stored) <= Order(mine)) return;
            LogAdopted(Id, $"{mine.State}@{mine.Epoch}", $"{stored.State}@{stored.Epoch}");
            if (stored.Epoch != mine.Epoch)
            {
                var events = await jobStore.ListJobEventsAsync(Id);
                _plan = JobEvents.ReadPlan(events.LastOrDefault(e => e.Kind == JobEvents.Planned)?.DetailJson) ?? _plan;
                _finishedRanks.Clear();
            }

            await RestoreLastStepAsync(CancellationToken.None);
            // Not a move of this activation's (those are JobMoves' rows): the memory takes what another one did.
            if (Order(_record!) < Order(stored)) _record = stored;
            if (JobMoves.IsTerminal(stored.State)) StopReplanning();
            DeactivateOnIdle();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogCheckFailed(e, Id); // the index is unreachable: the memory stands; a later read checks again
        }
        finally
        {
            _checking = null;
        }
    }

    /// <summary>How far on a job is: epochs only grow; within one, running follows planning and recovery, and an end follows both.</summary>
    private static long Order(JobRecord record) =>
        record.Epoch * 3 + (JobMoves.IsTerminal(record.State) ? 2 : record.State == JobPhase.Running ? 1 : 0);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: the index is further on ({Stored}) than this activation ({Mine}); adopting it")]
    private partial void LogAdopted(string job, string mine, string stored);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Job}: could not check the index")]
    private partial void LogCheckFailed(Exception exception, string job);
}
