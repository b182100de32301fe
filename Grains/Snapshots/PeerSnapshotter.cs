using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// A rank's peer snapshots. Every rank votes the state of its previous snapshot (<see cref="State"/>) in the step's loss
/// all-reduce, so at a due step boundary (on the device thread) every rank knows the same tally at no extra round trip:
/// if a snapshot is still on its way, every rank skips this step's snapshot alike, so a holder never needs more than the
/// newest complete copy and the one being written. Otherwise the rank copies the tensors its checkpoint shard holds into host memory (the only pause training
/// sees: the next step may then change the tensors) and sends them, in the background, in parts over grain calls to
/// its holders (<see cref="SnapshotRing"/>); a rank whose shard is empty (a dp replica) has nothing to send.
/// </summary>
public sealed partial class PeerSnapshotter
{
    /// <summary>Bytes per grain call: far under Orleans' message limit, large enough that the calls cost little.</summary>
    public const int PartBytes = 4 << 20;

    private readonly IGrainFactory _grains;
    private readonly string _jobId;
    private readonly long _epoch;
    private readonly int _rank;
    private readonly IReadOnlyList<string> _holders;
    private readonly Func<string, bool> _owns;
    private readonly ILogger _logger;
    private Task<bool> _pending = Task.FromResult(true);
    private IReadOnlyList<ArchiveEntry>? _previous;
    private long? _taken;
    private long? _resumed;
    private bool _logged;
    private readonly MemoryStream _archive = new();

    /// <summary>Snapshots rank <paramref name="rank"/> of <paramref name="jobId"/> in <paramref name="epoch"/> to <paramref name="holders"/>.</summary>
    /// <param name="grains">The silo's grain factory (calls made off the activation).</param>
    /// <param name="jobId">The job.</param>
    /// <param name="epoch">The epoch the rank runs in.</param>
    /// <param name="rank">The rank.</param>
    /// <param name="holders">The nodes that hold its copies (own node first); empty: no snapshots.</param>
    /// <param name="owns">Which of its tensors its shard holds (<c>ShardOwnership</c>).</param>
    /// <param name="logger">Where failures are logged.</param>
    public PeerSnapshotter(IGrainFactory grains, string jobId, long epoch, int rank, IReadOnlyList<string> holders, Func<string, bool> owns, ILogger logger)
    {
        (_grains, _jobId, _epoch, _rank, _holders, _owns, _logger) = (grains, jobId, epoch, rank, holders, owns, logger);
    }

    /// <summary>True when the rank has holders (a plan of two nodes or more, snapshots asked for).</summary>
    public bool Holds => _holders.Count > 0;

    /// <summary>The newest step every rank's snapshot is known to have reached its holders at, or null.</summary>
    public long? Complete { get; private set; }

    /// <summary>Due boundaries skipped because a previous snapshot was still on its way.</summary>
    public int Skipped { get; private set; }

    /// <summary>How long the last due boundary held training up (the copy, when one was taken).</summary>
    public TimeSpan LastStall { get; private set; }

    /// <summary>Bytes of the last snapshot taken.</summary>
    public long LastBytes { get; private set; }

    /// <summary>The state of the previous snapshot's send, which the rank votes in its next step (<c>Trainer.SnapshotState</c>).</summary>
    public SnapshotSendState State =>
        !_pending.IsCompleted ? SnapshotSendState.InFlight : _pending.Result ? SnapshotSendState.Arrived : SnapshotSendState.Failed;

    /// <summary>
    /// At the boundary after <paramref name="step"/> (every rank calls it at the same steps, with the same
    /// <paramref name="tally"/>: the states the ranks voted in that step): takes and sends this step's snapshot unless a
    /// previous one was still on its way or <paramref name="last"/> is true (the run ends here). The send starts once
    /// <paramref name="reports"/> is known (the step's report posted): the step reports the job has not acknowledged yet,
    /// which go with the snapshot.
    /// </summary>
    public void AfterStep(IShardedTrainer trainer, SnapshotTally tally, long step, bool last, Task<IReadOnlyList<StepMetrics>>? reports = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (_holders.Count == 0) return;
        var clock = Stopwatch.StartNew();
        if (tally.InFlight > 0)
        {
            Skipped++;
            LastStall = clock.Elapsed;
            return;
        }

        // No rank's send was in flight when it voted, so every send has finished: this rank's too.
        if (_taken is { } taken && tally.AllArrived) Complete = taken;
        LastStall = clock.Elapsed;
        if (last) return;
        // After a resume, the step restored stays on the holders until a newer one is complete.
        Take(trainer, step, Complete ?? _resumed ?? -1, _holders, reports);
        if (!_logged) LogFirst(_jobId, _rank, LastBytes, string.Join(", ", _holders));
        _logged = true;
        LastStall = clock.Elapsed;
    }

    /// <summary>
    /// Copies the shard's tensors into host arrays (the previous snapshot's, free to fill again: nothing is in flight)
    /// and sends them to <paramref name="holders"/> in the background, once <paramref name="reports"/> is known.
    /// </summary>
    private void Take(IShardedTrainer trainer, long step, long keep, IReadOnlyList<string> holders, Task<IReadOnlyList<StepMetrics>>? reports)
    {
        var snapshot = TrainerShards.Snapshot(trainer, _owns, _previous);
        _previous = snapshot.Entries;
        _taken = step;
        LastBytes = snapshot.Bytes;
        _pending = snapshot.Entries.Count == 0 || holders.Count == 0 ? Task.FromResult(true) : Task.Run(async () =>
        {
            var pending = reports is null ? [] : await reports;
            return await SendAsync(snapshot, keep, pending, holders);
        });
    }

    /// <summary>
    /// Before the first step of an epoch that resumed from step <paramref name="step"/> (memory or disk): copies that state
    /// to the holders that do not already keep it whole (<paramref name="kept"/>: the nodes a memory resume read this
    /// rank's shard from), so the step restored is on two nodes again at once, not only after the epoch's first snapshot
    /// has gone out; and the holders go on keeping <paramref name="step"/> until a newer snapshot is known complete.
    /// Every rank calls it alike (nothing is in flight at an epoch's start); its send's state is voted in the first step.
    /// </summary>
    public void AtResume(IShardedTrainer trainer, long step, IReadOnlyCollection<string> kept)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(kept);
        if (_holders.Count == 0) return;
        _resumed = step;
        var clock = Stopwatch.StartNew();
        var missing = _holders.Where(h => !kept.Contains(h)).ToList();
        Take(trainer, step, step, missing, null);
        LastStall = clock.Elapsed;
        LogResumed(_jobId, _rank, step, missing.Count == 0 ? "none (every holder keeps it)" : string.Join(", ", missing));
    }

    /// <summary>Waits for the send in flight (the run's end).</summary>
    public void Flush() => _pending.Wait();

    private async Task<bool> SendAsync(TrainerSnapshot snapshot, long keep, IReadOnlyList<StepMetrics> reports, IReadOnlyList<string> holders)
    {
        var step = snapshot.State.Step;
        var parts = Parts(snapshot);
        var names = snapshot.Entries.Select(e => e.Name).ToList();
        var state = System.Text.Json.JsonSerializer.Serialize(snapshot.State);
        var sent = await Task.WhenAll(holders.Select(async node =>
        {
            try
            {
                var holder = _grains.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf(_jobId, node));
                for (var i = 0; i < parts.Count; i++)
                    await holder.Put(_epoch, new SnapshotPart(_rank, step, keep, i, parts.Count, parts[i]) 
                    {
                        Tensors = i == 0 ? names : null,
                        StateJson = i == 0 ? state : null,
                        Reports = i == 0 ? reports : null,
                    });
                return true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogSendFailed(e, _jobId, _rank, step, node);
                return false;
            }
        }));
        return sent.All(ok => ok);
    }

    // The archive's bytes before they are cut into parts: one buffer for the rank's life (a send at a time), not a
    // large-object allocation per step. The parts are fresh arrays: a holder keeps them.
    private List<byte[]> Parts(TrainerSnapshot snapshot)
    {
        var buffer = _archive;
        buffer.SetLength(0);
        TensorArchive.Write(buffer, snapshot.Entries);
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var parts = new List<byte[]>();
        for (var at = 0; at < bytes.Length; at += PartBytes) parts.Add(bytes.Slice(at, Math.Min(PartBytes, bytes.Length - at)).ToArray());
        return parts;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} rank {Rank}: peer snapshots of {Bytes} bytes to {Holders}")]
    private partial void LogFirst(string job, int rank, long bytes, string holders);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} rank {Rank}: the state resumed at step {Step} copied to {Holders}")]
    private partial void LogResumed(string job, int rank, long step, string holders);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} rank {Rank}: the snapshot of step {Step} did not reach node {Node}")]
    private partial void LogSendFailed(Exception exception, string job, int rank, long step, string node);
}
