using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Resilience;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Two-phase commit of one job's checkpoints. Prepare: each rank reports its shard written and hashed.
/// Commit: when every rank of the job has prepared a step, one transaction in the index writes the
/// manifest and its shard rows (retried with backoff while the index is unreachable, so a database
/// restart loses nothing), then the retention policy runs and unreferenced shard files are collected.
/// Fenced by the job epoch: a rank of an older epoch is refused here, and the commit itself is
/// conditional on the job's epoch in the index.
/// </summary>
public sealed partial class CheckpointCoordinatorGrain(
    IJobStore jobStore, ICheckpointIndex checkpointIndex, IOptions<NodeOptions> node, IOptions<CheckpointCommitOptions> options,
    ILogger<CheckpointCoordinatorGrain> logger)
    : Grain, ICheckpointCoordinatorGrain
{
    private readonly SortedDictionary<long, Dictionary<int, PreparedShard>> _preparing = [];
    private readonly HashSet<long> _abandoned = [];
    private readonly Queue<CheckpointManifest> _ready = new();
    private CheckpointTarget? _job;
    private long _lastCommitted;
    private Task _committing = Task.CompletedTask;
    private bool _diskLow;

    private string Id => this.GetPrimaryKeyString();

    private string Root => node.Value.StorageRoot;

    /// <inheritdoc />
    public async Task Prepared(long epoch, PreparedShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var job = await FenceAsync(epoch);
        var rank = shard.Shard.Rank;
        if (rank < 0 || rank >= job.Ranks) throw new ArgumentException($"job {Id} has ranks 0 to {job.Ranks - 1}; rank {rank} reported a shard", nameof(shard));
        if (_abandoned.Contains(shard.Step) || shard.Step <= _lastCommitted) return;
        if (!_preparing.TryGetValue(shard.Step, out var shards)) _preparing[shard.Step] = shards = [];
        shards[rank] = shard;
        VoteCame(shard.Step);
        if (shards.Count < job.Ranks) return;

        _preparing.Remove(shard.Step);
        await TracePreparedAsync(shard.Step, epoch, job.Ranks);
        CheckFreeSpace(shard.Step, job.Alerts);
        var ordered = shards.Values.OrderBy(s => s.Shard.Rank).ToList();
        _ready.Enqueue(new CheckpointManifest(Id, shard.Step, epoch, DateTimeOffset.UtcNow, ordered.Sum(s => s.Shard.Bytes),
            ordered.Max(s => s.WriteSeconds), ordered[0].StateJson, [.. ordered.Select(s => s.Shard)]) { Kind = job.Kind, Parent = job.Parent });
        if (_committing.IsCompleted) _committing = CommitReadyAsync();
    }

    /// <inheritdoc />
    public async Task Aborted(long epoch, long step, int rank, string reason)
    {
        await FenceAsync(epoch);
        _preparing.Remove(step);
        var first = _abandoned.Add(step);
        LogAborted(Id, step, rank, reason);
        if (first) Alert(JobAlert.CheckpointFailed, step, $"checkpoint at step {step} abandoned: {reason}", ("rank", rank));
        try
        {
            await jobStore.AppendJobEventAsync(Id, CheckpointEvents.Failed, JobEvents.Detail(new { step, rank, reason }));
        }
        catch (Exception e) when (IsTransient(e))
        {
            LogEventLost(e, Id, CheckpointEvents.Failed);
        }
    }

    /// <inheritdoc />
    public async Task<CheckpointManifest?> GetResumePoint()
    {
        var record = await jobStore.GetJobAsync(Id) ?? throw new KeyNotFoundException($"no job '{Id}'");
        var spec = JobSpecParser.Parse(record.SpecJson);
        Target(record.Epoch, spec); // the ranks' first votes then need nothing from the index
        var corrupt = new List<(long Step, IReadOnlyList<string> Problems)>();
        CheckpointManifest? chosen = null;
        foreach (var manifest in (await checkpointIndex.ListCheckpointsAsync(Id)).Reverse())
        {
            var problems = await Task.Run(() => Problems(manifest));
            if (problems.Count == 0)
            {
                chosen = manifest;
                break;
            }

            corrupt.Add((manifest.Step, problems));
        }

        CheckpointManifest? origin = null;
        // Else where the spec starts: resume_from (a full resume), or an sft or grpo job's parent (its weights only: RankRun.Initialize).
        if (chosen is null && (spec.ResumeFrom ?? spec.Sft?.FromCheckpoint ?? spec.Grpo?.FromCheckpoint) is { } from)
        {
            origin = await checkpointIndex.GetCheckpointAsync(from.JobId, from.Step)
                ?? throw new InvalidDataException($"job {from.JobId} has no committed checkpoint at step {from.Step} to resume from");
            var problems = await Task.Run(() => Problems(origin));
            if (problems.Count > 0)
                throw new InvalidDataException($"the checkpoint to resume from, {from.JobId}@{from.Step}, does not verify: {string.Join("; ", problems)}");
        }

        var instead = chosen is not null ? $"step {chosen.Step}" : origin is not null ? $"{origin.JobId}@{origin.Step}" : "the seed (step 0)";
        foreach (var (step, problems) in corrupt)
        {
            LogCorrupt(Id, step, instead, string.Join("; ", problems));
            await jobStore.AppendJobEventAsync(Id, CheckpointEvents.Corrupt, JobEvents.Detail(new { step, problems, instead }));
        }

        return chosen ?? origin;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CheckpointManifest>> List() => checkpointIndex.ListCheckpointsAsync(Id);

    /// <inheritdoc />
    public async Task<bool> Drain(TimeSpan timeout)
    {
        await Task.WhenAny(_committing, Task.Delay(timeout));
        return _ready.Count == 0;
    }

    private async Task<CheckpointTarget> FenceAsync(long epoch)
    {
        if (_job is null || epoch > _job.Epoch)
        {
            // First call of this activation, or a recovery bumped the epoch: the index says where the job is.
            var record = await jobStore.GetJobAsync(Id) ?? throw new KeyNotFoundException($"no job '{Id}'");
            Target(record.Epoch, JobSpecParser.Parse(record.SpecJson));
        }

        if (epoch != _job!.Epoch) throw new StaleEpochException($"checkpoint coordinator of job {Id}", _job.Epoch, epoch);
        return _job;
    }

    /// <summary>Where the job is; a new epoch abandons the checkpoints the old one had in preparation.</summary>
    private void Target(long epoch, JobSpec spec)
    {
        if (_job is not null && epoch < _job.Epoch) return;
        if (_job?.Epoch != epoch)
        {
            _preparing.Clear();
            _abandoned.Clear();
            _lastCommitted = 0;
        }

        _job = new CheckpointTarget(epoch, spec.Layout.ToLayout().Ranks, spec.Checkpoint, spec.Alerts,
            JobSpecParser.KindName(spec.Kind), spec.ResumeFrom ?? spec.Sft?.FromCheckpoint ?? spec.Grpo?.FromCheckpoint ?? spec.Distill?.Teacher);
    }

    private async Task CommitReadyAsync()
    {
        while (_ready.TryPeek(out var manifest))
        {
            using var span = StartCommitSpan(manifest, await TraceAsync());
            try
            {
                if (await CommitAsync(manifest)) await CollectAsync(manifest.Step);
                else span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "refused: the job has moved to another epoch");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Not a matter of waiting (the job is gone, the manifest is refused): this checkpoint is lost, say so.
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
                LogCommitFailed(e, Id, manifest.Step);
                Alert(JobAlert.CheckpointFailed, manifest.Step, $"checkpoint at step {manifest.Step} could not be committed: {e.Message}", ("shards", manifest.Shards.Count));
            }

            _ready.Dequeue();
        }
    }

    /// <summary>Commits, retrying with backoff while the index cannot be reached; false if the commit was refused.</summary>
    private async Task<bool> CommitAsync(CheckpointManifest manifest)
    {
        // A pipeline per commit (one every few steps): its retry log names the step.
        var retry = new Retry(options.Value.CommitRetry, IsTransient, (e, attempt, delay) => LogRetrying(e, Id, manifest.Step, attempt, delay.TotalSeconds));
        return await retry.RunAsync(async attempt =>
        {
            // Retried with the commit: committing the same manifest again replaces it with itself.
            var committed = await checkpointIndex.CommitCheckpointAsync(manifest, JobEvents.Detail(new
            {
                step = manifest.Step, epoch = manifest.Epoch, bytes = manifest.Bytes, seconds = manifest.DurationSeconds,
                shards = manifest.Shards.Count, attempts = attempt,
            }));
            if (committed is null)
            {
                LogStale(Id, manifest.Step, manifest.Epoch);
                return false;
            }

            if (_job?.Epoch == manifest.Epoch) _lastCommitted = Math.Max(_lastCommitted, manifest.Step);
            LogCommitted(Id, manifest.Step, manifest.Bytes, manifest.DurationSeconds, attempt);
            CheckpointInstruments.Commits.Add(1, new KeyValuePair<string, object?>(TelemetryTags.Job, Id));
            return true;
        });
    }

    /// <summary>Applies the retention policy and removes every shard file the index no longer references, up to <paramref name="step"/>.</summary>
    private async Task CollectAsync(long step)
    {
        try
        {
            var committed = await checkpointIndex.ListCheckpointsAsync(Id);
            var expired = RetentionPolicy.Expired(committed.Select(c => c.Step), _job!.Policy);
            if (expired.Count > 0)
            {
                await checkpointIndex.DeleteCheckpointsAsync(Id, expired);
                await jobStore.AppendJobEventAsync(Id, CheckpointEvents.Expired, JobEvents.Detail(new { steps = expired }));
            }

            var gone = expired.ToHashSet();
            var referenced = committed.Where(c => !gone.Contains(c.Step)).SelectMany(c => c.Shards).Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
            var deleted = await Task.Run(() => ShardCollector.Collect(Root, Id, referenced, step));
            if (deleted.Count > 0) LogCollected(Id, deleted.Count, step);
        }
        catch (Exception e) when (IsTransient(e))
        {
            LogCollectFailed(e, Id); // the next commit collects again
        }
    }

    /// <summary>
    /// At a checkpoint: the storage root's free space against <see cref="AlertPolicy.DiskFreeMinMegabytes"/>; one alert
    /// while it stays low (again once it has been above the threshold at a checkpoint).
    /// </summary>
    private void CheckFreeSpace(long step, AlertPolicy alerts)
    {
        if (alerts.DiskFreeMinMegabytes <= 0) return;
        long free;
        try
        {
            free = new DriveInfo(Path.GetFullPath(Root)).AvailableFreeSpace / (1024 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            LogFreeSpaceUnknown(e, Id, Root);
            return;
        }

        var low = free < alerts.DiskFreeMinMegabytes;
        if (low && !_diskLow)
            Alert(JobAlert.DiskLow, step, $"the checkpoint storage {Root} has {free} MB free, under alerts.disk_free_min_mb ({alerts.DiskFreeMinMegabytes} MB)",
                ("free_mb", free), ("min_mb", alerts.DiskFreeMinMegabytes));
        _diskLow = low;
    }

    /// <summary>Hands an alert to the job grain, which records, logs and counts it (one-way: never waits on the job).</summary>
    private void Alert(string kind, long step, string message, params (string Name, double Value)[] values) =>
        _ = GrainFactory.GetGrain<IJobGrain>(Id).RaiseAlert(new JobAlert(kind, step, message,
            values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal), DateTimeOffset.UtcNow));

    private IReadOnlyList<string> Problems(CheckpointManifest manifest) =>
        [.. manifest.Shards.Select(s => ShardFile.Problem(Root, s)).OfType<string>()];

    private static bool IsTransient(Exception e) =>
        e is DbException or TimeoutException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException;

    private sealed record CheckpointTarget(long Epoch, int Ranks, CheckpointPolicy Policy, AlertPolicy Alerts, string Kind, CheckpointSource? Parent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: checkpoint at step {Step} committed ({Bytes} bytes, written in {Seconds:F3} s, attempt {Attempt})")]
    private partial void LogCommitted(string job, long step, long bytes, double seconds, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: commit of step {Step} failed (attempt {Attempt}); retrying in {Delay:F1} s")]
    private partial void LogRetrying(Exception exception, string job, long step, int attempt, double delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: checkpoint at step {Step} could not be committed")]
    private partial void LogCommitFailed(Exception exception, string job, long step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: commit of step {Step} from epoch {Epoch} refused: the job has moved to another epoch")]
    private partial void LogStale(string job, long step, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: checkpoint at step {Step} abandoned by rank {Rank}: {Reason}")]
    private partial void LogAborted(string job, long step, int rank, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: checkpoint at step {Step} does not verify, using {Instead}: {Problems}")]
    private partial void LogCorrupt(string job, long step, string instead, string problems);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: {Count} shard file(s) collected up to step {Step}")]
    private partial void LogCollected(string job, int count, long step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: retention or collection failed; the next commit tries again")]
    private partial void LogCollectFailed(Exception exception, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: the free space of the checkpoint storage {Root} could not be read")]
    private partial void LogFreeSpaceUnknown(Exception exception, string job, string root);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: a {Kind} event could not be recorded")]
    private partial void LogEventLost(Exception exception, string job, string kind);
}
