using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Snapshots;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A rank's in-memory peer snapshots (<c>checkpoint.memory_copies</c>): taken at due step boundaries and sent to the
/// holders of its node's ring (<see cref="PeerSnapshotter"/>), and, in a recovery whose step survived in memory, the
/// state loaded from them instead of disk (<see cref="MemorySnapshotLoader"/>). Pipeline stages take none (the spec
/// refuses them there).
/// </summary>
internal partial class RankRun
{
    private PeerSnapshotter? _peerSnapshots;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, StepMetrics> _unacknowledged = new();

    /// <summary>Seconds from the start to ready, and of them loading the state; sent on the first step's report, then null.</summary>
    private protected (double Ready, double Load)? Readiness { get; set; }

    /// <summary>The rank's peer snapshots; holding nothing on a plan of one node, in a pipeline stage, or when the spec asks for none.</summary>
    private protected PeerSnapshotter PeerSnapshots => _peerSnapshots ??= new PeerSnapshotter(_services.Grains, Key.JobId, Key.Epoch, Key.Rank,
        Start.Spec.Layout.Stages > 1 ? [] : SnapshotRing.HoldersOf(Key.Node, Start.Peers, Start.Spec.Checkpoint.MemoryCopies),
        ShardOwnership.For(Groups), _logger);

    /// <summary>Where the rank's state comes from: peer memory when the start names an in-memory step, else the committed checkpoint, else the seed.</summary>
    private protected string RestoreState(IShardedTrainer trainer)
    {
        if (Start.MemoryResume is { } memory)
        {
            MemorySnapshotLoader.Restore(trainer, memory, _services.Grains, Key.Node);
            return "memory";
        }

        if (Start.Resume is not { } resume) return "seed";
        if (trainer is Trainer full) Load(full, resume); // checkpoints: load (verified); an sft job's parent as weights only
        else ShardLoader.Restore(trainer, resume, _services.StorageRoot);
        return "disk";
    }

    /// <summary>
    /// After a resume (<paramref name="source"/> memory or disk), the state restored is copied to this rank's holders
    /// that do not keep it whole yet: a recovery left it on the surviving holders only (one node with one copy), and a
    /// second loss before the epoch's first snapshot arrived would otherwise fall back to disk.
    /// </summary>
    private protected void RefillHolders(IShardedTrainer trainer, string source)
    {
        if (source == "seed" || !PeerSnapshots.Holds || trainer.Step >= Start.Spec.Steps) return;
        var kept = Start.MemoryResume?.Shards.FirstOrDefault(s => s.Rank == Groups.Rank)?.Holders ?? [];
        PeerSnapshots.AtResume(trainer, trainer.Step, [.. kept]);
    }

    /// <summary>
    /// Rank 0's step reports the job has not acknowledged yet, this one's included (they ride with its snapshot: they would
    /// die with the rank); empty on the other ranks and without snapshots.
    /// </summary>
    private protected IReadOnlyList<StepMetrics> Unacknowledged(StepMetrics metrics, Task report)
    {
        if (Groups.Rank != 0 || !PeerSnapshots.Holds) return [];
        _unacknowledged[metrics.Step] = metrics;
        _ = report.ContinueWith(_ => _unacknowledged.TryRemove(metrics.Step, out StepMetrics? _), TaskScheduler.Default);
        return [.. _unacknowledged.Values.OrderBy(m => m.Step)];
    }

    /// <summary>
    /// The boundary after <paramref name="step"/>: the peer snapshot when due (every rank at the same steps); how long it
    /// held training up, or null when none was due or the rank holds nothing. The send takes <paramref name="reports"/>'s
    /// reports along.
    /// </summary>
    private protected double? SnapshotAfter(StepReport step, IShardedTrainer trainer, Task<IReadOnlyList<StepMetrics>> reports)
    {
        if (!Start.Spec.Checkpoint.IsMemoryDue(step.Step) || !PeerSnapshots.Holds) return null;
        PeerSnapshots.AfterStep(trainer, step.Snapshots, step.Step, last: step.Step >= Start.Spec.Steps || !step.EveryRankGoesOn, reports);
        return PeerSnapshots.LastStall.TotalSeconds;
    }
}
