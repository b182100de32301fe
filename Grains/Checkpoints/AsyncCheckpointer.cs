using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Grains.Telemetry;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// A rank's asynchronous checkpoints: at a step boundary the trainer's tensors are copied to host memory
/// (the only pause training sees), then written, hashed and renamed in the background while training goes
/// on. The next checkpoint waits only if the previous write is still running. A failed write (a full disk,
/// say) leaves no file and is reported as aborted; training continues. The stall and the write are recorded
/// (<see cref="CheckpointInstruments"/>).
/// </summary>
public sealed class AsyncCheckpointer
{
    private readonly string _root;
    private readonly string _jobId;
    private readonly long _epoch;
    private readonly int _rank;
    private readonly Func<string, bool> _owns;
    private readonly Action<PreparedShard> _prepared;
    private readonly Action<long, string> _aborted;
    private readonly KeyValuePair<string, object?>[] _tags;
    private Task _pending = Task.CompletedTask;

    /// <summary>Checkpoints the rank of <paramref name="groups"/> of <paramref name="jobId"/> in <paramref name="epoch"/> under <paramref name="root"/>.</summary>
    /// <param name="root">The storage root shared by the nodes.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="epoch">The job epoch the rank runs in (part of the file name).</param>
    /// <param name="groups">The rank and its groups: which of its tensors it writes (<see cref="ShardOwnership"/>).</param>
    /// <param name="prepared">Told, from a background thread, that a shard is written (the prepare vote).</param>
    /// <param name="aborted">Told, from a background thread, that the shard of a step could not be written, and why.</param>
    public AsyncCheckpointer(string root, string jobId, long epoch, ParallelGroups groups, Action<PreparedShard> prepared, Action<long, string> aborted)
    {
        _root = root;
        _jobId = jobId;
        _epoch = epoch;
        ArgumentNullException.ThrowIfNull(groups);
        _rank = groups.Rank;
        _owns = ShardOwnership.For(groups);
        _prepared = prepared;
        _aborted = aborted;
        _tags = TelemetryTags.Of(jobId);
    }

    private IReadOnlyList<ArchiveEntry>? _previous;

    /// <summary>
    /// Fault injection, for tests and drills only (spec <c>faults.checkpoint_fail_step</c>): the write of this step's shard
    /// fails as an I/O error would, and is voted aborted; null (the default) injects nothing.
    /// </summary>
    public long? InjectFailureAtStep { get; init; }

    /// <summary>How long the last <see cref="Checkpoint"/> held training up (waiting for the previous write, plus the snapshot).</summary>
    public TimeSpan LastStall { get; private set; }

    /// <summary>Snapshots <paramref name="trainer"/> (call it on the trainer's thread, between steps) and writes it in the background.</summary>
    public void Checkpoint(IShardedTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var clock = Stopwatch.StartNew();
        _pending.Wait();
        // The previous write has finished, so its arrays are free to fill again.
        var snapshot = TrainerShards.Snapshot(trainer, _owns, _previous);
        _previous = snapshot.Entries;
        LastStall = clock.Elapsed;
        CheckpointInstruments.Stall.Record(LastStall.TotalSeconds, _tags);
        _pending = Task.Run(() => Write(snapshot, clock));
    }

    /// <summary>Waits for the write in flight, if any (before the rank reports that it finished).</summary>
    public void Flush() => _pending.Wait();

    private void Write(TrainerSnapshot snapshot, Stopwatch clock)
    {
        var step = snapshot.State.Step;
        CheckpointShard shard;
        try
        {
            if (step == InjectFailureAtStep) throw new IOException($"fault injection: the write of step {step} fails (faults.checkpoint_fail_step)");
            shard = ShardFile.Write(_root, _jobId, step, _epoch, _rank, snapshot.Entries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _aborted(step, $"rank {_rank} could not write its shard of step {step}: {e.Message}");
            return;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        CheckpointInstruments.RecordWrite(shard.Bytes, seconds, _tags);
        _prepared(new PreparedShard(step, shard, JsonSerializer.Serialize(snapshot.State), seconds));
    }
}
