using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The watch: a running job that has heard nothing from its ranks for <see cref="JobTimingOptions.AskRanksAfter"/> (10 s) asks each
/// rank how its run ended. A rank reports its end once, and that report can be lost — the job grain's silo
/// died and the report's retries ran out, or a duplicate activation of the job took it — which would leave a
/// finished (or failed) job running for ever. Ranks that are still running answer null and nothing happens.
/// </summary>
public sealed partial class JobGrain
{
    private IGrainTimer? _watch;
    private DateTimeOffset _asked = DateTimeOffset.MinValue;

    /// <summary>Starts the watch, once, while the job is not final.</summary>
    private void Watch()
    {
        if (_watch is not null || _record is null || JobMoves.IsTerminal(_record.State)) return;
        _watch = this.RegisterGrainTimer(Scoped(WatchAsync), new GrainTimerCreationOptions(_timing.WatchPeriod, _timing.WatchPeriod) { Interleave = false });
    }

    private async Task WatchAsync(CancellationToken cancellation)
    {
        if (_record is null || JobMoves.IsTerminal(_record.State))
        {
            _watch?.Dispose();
            _watch = null;
            return;
        }

        var now = DateTimeOffset.UtcNow;
        if (_record.State != JobPhase.Running || _plan is null || now - _heard < _timing.AskRanksAfter || now - _asked < _timing.AskRanksAfter) return;
        _asked = now;
        var plan = _plan;
        foreach (var rank in plan.Ranks.Where(r => !_finishedRanks.Contains(r.Rank)).ToList())
        {
            RankOutcome? outcome;
            try
            {
                var key = new RankKey(Id, plan.Epoch, rank.Rank, rank.Node).ToString();
                outcome = await GrainFactory.GetGrain<IRankGrain>(key).GetOutcome(plan.Epoch).WaitAsync(_timing.AskTimeout, cancellation);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogAskFailed(Id, rank.Rank, rank.Node, e.Message);
                continue;
            }

            if (outcome is null) continue;
            // The job may have moved on while it waited for the answer: only the plan it asked about counts.
            if (_record.State != JobPhase.Running || _record.Epoch != plan.Epoch || !ReferenceEquals(_plan, plan)) return;
            LogEndFoundByAsking(Id, rank.Rank, outcome.Finished, outcome.Error);
            await HandleFinishedAsync(rank.Rank, outcome);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: rank {Rank} had ended (finished {Finished}, error {Error}) but its report never came; asking it found the end")]
    private partial void LogEndFoundByAsking(string job, int rank, bool finished, string? error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Job}: rank {Rank} on {Node} did not answer the watch: {Reason}")]
    private partial void LogAskFailed(string job, int rank, string node, string reason);
}
