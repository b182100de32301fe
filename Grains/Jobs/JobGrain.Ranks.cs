using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The ranks of a plan: started together from the coordinator's resume point (then the job moves to Running),
/// stopped when the job ends, and stopped without waiting when a recovery leaves their epoch behind.
/// </summary>
public sealed partial class JobGrain
{
    private async Task StartRanksAsync(RankPlan plan)
    {
        CheckpointManifest? resume = null;
        MemoryResumePoint? memory = null;
        var why = "first start";
        var source = "seed";
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        long resumeMs = 0;
        try
        {
            // Checkpoints: the newest committed checkpoint that verifies (or the spec's resume_from), else the seed.
            resume = await GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(Id).GetResumePoint();
            // Peer snapshots: in a recovery, a newer step still held whole in the live nodes' memory, for every shard.
            if (_record?.State == JobPhase.Recovering) (memory, why) = await MemoryResumeAsync(resume?.Step ?? 0);
            resumeMs = clock.ElapsedMilliseconds;
            NoteSnapshotHolders(plan);
            source = memory is not null ? "memory" : resume is not null ? "disk" : "seed";
            // Before the ranks start: the new epoch's first step report may come before the start returns.
            if (_record?.State == JobPhase.Recovering) ExpectResumed(plan.Epoch, memory?.Step ?? resume?.Step ?? 0, source);
            // One start per node, all at once: its first rank starts the node's others on their silo, so the plan
            // crosses the network once per node (per rank it was R × R assignments: the 2,048-rank submit timed out),
            // and a start returns as soon as the runs are queued; the first failure fails the start as before.
            var start = new NodeStart(_spec!, plan.Ranks, resume) { TraceParent = _traceParent, MemoryResume = memory };
            WatchStalls(plan);
            await Task.WhenAll(plan.Ranks.GroupBy(rank => rank.Node, StringComparer.Ordinal).Select(node => node.First()).Select(first =>
                GrainFactory.GetGrain<IRankGrain>(new RankKey(Id, plan.Epoch, first.Rank, first.Node).ToString()).StartNode(plan.Epoch, start)));
            LogRanksStarted(Id, plan.Ranks.Count, plan.Epoch, clock.ElapsedMilliseconds, resumeMs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A node may die between the plan and the start: in a recovery that is another recovery, not a failure.
            if (_record is null || !JobMoves.Handles(_record.State, JobTrigger.StartFailed)) return;
            var specError = e is JobSpecException or ArgumentException;
            var failed = JobMoves.Find(_record.State, JobTrigger.StartFailed, RecoveryFacts() with { SpecError = specError })!;
            if (_record.State == JobPhase.Recovering && !specError)
                await RecoverOrGiveUpAsync(failed, $"could not start the ranks of epoch {plan.Epoch}: {e.Message}", new { error = e.Message }, _timing.RankFailureGrace);
            else
                await FailAsync(failed, $"could not start the ranks: {e.Message}", new { error = e.Message });
            return;
        }

        if (_record is null || !JobMoves.Handles(_record.State, JobTrigger.Start)) return;
        var move = JobMoves.Find(_record.State, JobTrigger.Start, new JobFacts())!;
        DateTimeOffset? recoveringSince = _record.State == JobPhase.Recovering ? _record.UpdatedAt : null;
        if (await MoveAsync(move, plan.Epoch))
        {
            var fromStep = memory?.Step ?? resume?.Step ?? 0;
            if (recoveringSince is { } since) RecordRecovered(since, plan.Epoch, fromStep);
            await RecordAsync(move, move.Records[0], JobEvents.Detail(recoveringSince is null // started, or recovered
                ? new { ranks = plan.Ranks.Count, nodes = plan.NodesUsed, epoch = plan.Epoch, from_step = fromStep }
                : RecoveredDetail(plan, fromStep, source, why, startedAt, resumeMs, clock.ElapsedMilliseconds)));
            EndRecoverySpan();
            await CompleteIfDoneAsync();
        }
    }

    private async Task StopRanksAsync()
    {
        ForgetSnapshots(); // the job ended: its holders drop their copies
        await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).ReleaseJob(Id);
        if (_plan is not { } plan) return;
        // All at once (one by one, 2,048 stops took seconds, and each rank on a dead node its own timeout).
        await Task.WhenAll(plan.Ranks.Select(async rank =>
        {
            try
            {
                var key = new RankKey(Id, plan.Epoch, rank.Rank, rank.Node).ToString();
                await GrainFactory.GetGrain<IRankGrain>(key).Stop(plan.Epoch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A rank on a dead node cannot be told; its node is gone, and its epoch is fenced off.
                LogStopFailed(e, Id, rank.Rank);
            }
        }));
    }

    /// <summary>Tells the old epoch's ranks to stop, without waiting: ranks on a dead node never answer.</summary>
    private void StopInBackground(RankPlan? plan)
    {
        if (plan is null) return;
        foreach (var rank in plan.Ranks)
        {
            var key = new RankKey(Id, plan.Epoch, rank.Rank, rank.Node).ToString();
            _ = GrainFactory.GetGrain<IRankGrain>(key).Stop(plan.Epoch).ContinueWith(
                t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} started {Ranks} ranks of epoch {Epoch} in {Ms} ms (resume point {ResumeMs} ms)")]
    private partial void LogRanksStarted(string job, int ranks, long epoch, long ms, long resumeMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} could not stop rank {Rank}")]
    private partial void LogStopFailed(Exception exception, string job, int rank);
}
