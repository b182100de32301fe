using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Planning;
using Orchestrator.Grains.Snapshots;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's side of peer snapshots (<c>checkpoint.memory_copies</c>): which nodes hold copies (every plan's ring), the
/// newest step the ranks know complete in memory (rank 0's step report), and, in a recovery, the in-memory resume point:
/// the newest step whose every non-empty shard is still held by a live node, asked of the holders themselves (they
/// are the truth; the job's memory of them may be a reactivation's). When some shard's every copy died, it is null and
/// the ranks load the last committed disk checkpoint, for the whole job: never a mix of steps. Also the recovery's
/// timings the recovered event records.
/// </summary>
public sealed partial class JobGrain
{
    private readonly HashSet<string> _snapshotNodes = new(StringComparer.Ordinal);
    private long? _memoryStep;
    private DateTimeOffset? _lastStepAt;
    private DateTimeOffset? _noticedAt;
    private double? _detectionMs;
    private DateTimeOffset? _lastStepBeforeFailure;

    /// <summary>How long the job waits for one holder's inventory in a recovery (a holder on a dying node may not answer).</summary>
    private static readonly TimeSpan InventoryTimeout = TimeSpan.FromSeconds(2);

    private int MemoryCopies => _spec?.Checkpoint.MemoryCopies ?? 0;

    /// <summary>Rank 0's step: when it came (the detection time counts from the last one) and the newest complete in-memory step.</summary>
    private void NoteStep(StepMetrics metrics)
    {
        _lastStepAt = DateTimeOffset.UtcNow;
        if (metrics.MemoryStep is { } step) _memoryStep = Math.Max(_memoryStep ?? -1, step);
    }

    /// <summary>The failure was noticed now: the detection time is the gap since the last step was heard.</summary>
    private void NoteRecovering()
    {
        _noticedAt = DateTimeOffset.UtcNow;
        _lastStepBeforeFailure = _lastStepAt;
        _detectionMs = _lastStepAt is { } last ? (_noticedAt.Value - last).TotalMilliseconds : null;
    }

    /// <summary>The nodes that will hold the copies of <paramref name="plan"/>'s ranks.</summary>
    private void NoteSnapshotHolders(RankPlan plan)
    {
        foreach (var node in SnapshotRing.Nodes(plan.Ranks, MemoryCopies)) _snapshotNodes.Add(node);
    }

    /// <summary>
    /// In a recovery, the newest step at or after <paramref name="diskStep"/> (the committed checkpoint's) whose every
    /// non-empty shard a live holder keeps whole; null when there is none (the disk checkpoint, or the seed, is used).
    /// It may be newer than the last step the job heard of (the reports of a dead rank may be lost with it): rank 0's
    /// snapshot carries its reports not yet acknowledged, which are stored here, so those steps keep their metrics.
    /// </summary>
    private async Task<(MemoryResumePoint? Point, string Why)> MemoryResumeAsync(long diskStep)
    {
        if (_spec is null || MemoryCopies == 0) return (null, "no peer snapshots");
        // Every live node is asked, not only those this activation saw in its plans: a job grain found again on another
        // silo knows only its last plan; a node with nothing answers an empty inventory (and is told to forget at the end).
        var alive = (await GrainFactory.GetGrain<IClusterGrain>(IClusterGrain.Key).GetNodes()).Where(n => n.Alive).Select(n => n.Name).ToList();
        _snapshotNodes.UnionWith(alive);
        var held = await Task.WhenAll(alive.Select(async node =>
        {
            try
            {
                var inventory = await GrainFactory.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf(Id, node)).Inventory().WaitAsync(InventoryTimeout);
                return inventory.Select(h => (Node: node, Held: h)).ToList();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogInventoryFailed(e, Id, node);
                return [];
            }
        }));
        var layout = _spec.Layout.ToLayout();
        var needed = Enumerable.Range(0, layout.Ranks).Where(r => new ParallelGroups(layout, r) is { WritesDense: true } or { WritesExperts: true }).ToList();
        var best = held.SelectMany(h => h).Where(h => h.Held.Step >= diskStep).GroupBy(h => h.Held.Step)
            .OrderByDescending(g => g.Key)
            .FirstOrDefault(g => needed.All(r => g.Any(h => h.Held.Rank == r)));
        if (best is null) return (null, $"no step at or after {diskStep} has every shard on a live node");
        var shards = needed.Select(r =>
        {
            var copies = best.Where(h => h.Held.Rank == r).ToList();
            var first = copies[0].Held;
            return new MemoryShard(r, first.Parts, first.Bytes, first.Tensors, [.. copies.Select(c => c.Node)]);
        }).ToList();
        var lead = best.First(h => h.Held.Rank == 0).Held;
        await StoreCarriedReportsAsync(lead.Reports.Where(r => r.Step <= best.Key));
        return (new MemoryResumePoint(Id, best.Key, lead.StateJson, shards), "every shard held");
    }

    /// <summary>
    /// Stores the step reports that came with rank 0's snapshot (those the job had not acknowledged when it left): the
    /// recovery does not replay those steps, and their reports may have died with the rank. Idempotent (a stored step is
    /// overwritten with its own values).
    /// </summary>
    private async Task StoreCarriedReportsAsync(IEnumerable<StepMetrics> reports)
    {
        foreach (var report in reports.OrderBy(r => r.Step))
        {
            await StoreStepAsync(report);
            if (report.Step > (_last?.Step ?? -1)) _last = report;
        }
    }

    /// <summary>Tells every holder to drop its copies (the job ended); holders on dead nodes are gone anyway.</summary>
    private void ForgetSnapshots()
    {
        foreach (var node in _snapshotNodes)
        {
            _ = GrainFactory.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf(Id, node)).Forget().ContinueWith(
                t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        _snapshotNodes.Clear();
    }

    /// <summary>The recovered event's fields beyond the plan: where the state came from, the steps lost, and the timings so far.</summary>
    /// <param name="plan">The new plan.</param>
    /// <param name="fromStep">The step restored.</param>
    /// <param name="source">memory, disk or seed.</param>
    /// <param name="why">Why memory was (not) used.</param>
    /// <param name="startedAt">When the new plan's start began (the re-plan ended).</param>
    /// <param name="resumeMs">Finding the resume point (coordinator and holders).</param>
    /// <param name="startMs">Starting the ranks, resume point included.</param>
    private object RecoveredDetail(RankPlan plan, long fromStep, string source, string why, DateTimeOffset startedAt, long resumeMs, long startMs) => new
    {
        ranks = plan.Ranks.Count,
        nodes = plan.NodesUsed,
        epoch = plan.Epoch,
        from_step = fromStep,
        source,
        source_reason = why,
        steps_lost = Math.Max(0, _recoveringFromStep - fromStep),
        memory_step = _memoryStep,
        detection_ms = _detectionMs,
        replan_ms = _noticedAt is { } noticed ? (startedAt - noticed).TotalMilliseconds : (double?)null,
        resume_point_ms = resumeMs,
        rank_start_ms = startMs,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: the snapshot holder on {Node} did not answer")]
    private partial void LogInventoryFailed(Exception exception, string job, string node);
}
