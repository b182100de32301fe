using System.Data.Common;
using System.Text.Json;
using Orchestrator.Grains.Checkpoints;

namespace Orchestrator.Grains.Storage;

/// <summary>The checkpoint index: manifests and their shard rows.</summary>
public abstract partial class SqlMetadataStore : ICheckpointIndex
{
    private const string CheckpointColumns =
        "c.step, c.epoch, c.committed_at, c.bytes, c.duration_s, c.state, s.rank, s.path, s.bytes, s.sha256, s.tensors, c.kind, c.parent_job, c.parent_step";

    /// <inheritdoc />
    public async Task<CheckpointManifest?> CommitCheckpointAsync(
        CheckpointManifest manifest, string? eventDetailJson = null, CancellationToken cancellationToken = default)
    {
        CheckpointInput.RequireManifest(manifest);
        StoreInput.RequireJson(eventDetailJson, nameof(eventDetailJson), allowNull: true);
        var now = Now();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // The fence: a no-op update that matches only at the manifest's epoch. It also takes the job row's
        // lock until the commit, so an epoch bump racing with this commit waits for it or makes it miss.
        var fenced = await ExecuteAsync(
            connection, transaction, "UPDATE jobs SET epoch = epoch WHERE id = @id AND epoch = @epoch", cancellationToken,
            ("id", manifest.JobId), ("epoch", manifest.Epoch)).ConfigureAwait(false);
        if (fenced == 0)
        {
            await RequireJobAsync(connection, transaction, manifest.JobId, cancellationToken).ConfigureAwait(false);
            return null;
        }

        await ExecuteAsync(
            connection, transaction, "DELETE FROM checkpoints WHERE job_id = @job AND step = @step", cancellationToken,
            ("job", manifest.JobId), ("step", manifest.Step)).ConfigureAwait(false);
        await using (var insert = Command(
            connection, transaction,
            """
            INSERT INTO checkpoints (job_id, step, epoch, committed_at, bytes, duration_s, state, kind, parent_job, parent_step)
            VALUES (@job, @step, @epoch, @at, @bytes, @duration, @state, @kind, @parent_job, @parent_step)
            """,
            ("job", manifest.JobId), ("step", manifest.Step), ("epoch", manifest.Epoch), ("at", ToDbTime(now)),
            ("bytes", manifest.Bytes), ("duration", manifest.DurationSeconds), ("kind", manifest.Kind),
            ("parent_job", manifest.Parent?.JobId), ("parent_step", manifest.Parent?.Step)))
        {
            AddJson(insert, "state", manifest.StateJson);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var shard in manifest.Shards.OrderBy(s => s.Rank))
        {
            await using var row = Command(
                connection, transaction,
                """
                INSERT INTO checkpoint_shards (job_id, step, rank, path, bytes, sha256, tensors)
                VALUES (@job, @step, @rank, @path, @bytes, @sha, @tensors)
                """,
                ("job", manifest.JobId), ("step", manifest.Step), ("rank", shard.Rank), ("path", shard.Path),
                ("bytes", shard.Bytes), ("sha", shard.Sha256));
            AddJson(row, "tensors", JsonSerializer.Serialize(shard.Tensors));
            await row.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (eventDetailJson is not null)
        {
            await AppendJobEventAsync(connection, transaction, manifest.JobId, CheckpointEvents.Committed, eventDetailJson, now, cancellationToken)
                .ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return manifest with { CommittedAt = now, Shards = [.. manifest.Shards.OrderBy(s => s.Rank)] };
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CheckpointManifest>> ListCheckpointsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, null, jobId, cancellationToken).ConfigureAwait(false);
        return await ReadCheckpointsAsync(connection, jobId, "", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<CheckpointManifest?> GetCheckpointAsync(string jobId, long? step = null, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, null, jobId, cancellationToken).ConfigureAwait(false);
        var which = step is null
            ? " AND c.step = (SELECT MAX(step) FROM checkpoints WHERE job_id = @job)"
            : " AND c.step = @step";
        var found = await ReadCheckpointsAsync(connection, jobId, which, cancellationToken, ("step", step ?? 0L)).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <inheritdoc />
    public async Task<int> DeleteCheckpointsAsync(string jobId, IReadOnlyList<long> steps, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        CheckpointInput.RequireSteps(steps);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, transaction, jobId, cancellationToken).ConfigureAwait(false);
        var removed = 0;
        foreach (var step in steps.Distinct())
        {
            // Shard rows first: SQLite enforces the cascade only with foreign keys on, PostgreSQL always.
            await ExecuteAsync(connection, transaction, "DELETE FROM checkpoint_shards WHERE job_id = @job AND step = @step", cancellationToken,
                ("job", jobId), ("step", step)).ConfigureAwait(false);
            removed += await ExecuteAsync(connection, transaction, "DELETE FROM checkpoints WHERE job_id = @job AND step = @step", cancellationToken,
                ("job", jobId), ("step", step)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed;
    }

    private async Task<IReadOnlyList<CheckpointManifest>> ReadCheckpointsAsync(
        DbConnection connection, string jobId, string filter, CancellationToken cancellationToken, params (string Name, object? Value)[] extra)
    {
        // One statement, so that the shards belong to the checkpoints as read.
        await using var command = Command(
            connection, null,
            $"""
            SELECT {CheckpointColumns} FROM checkpoints c JOIN checkpoint_shards s ON s.job_id = c.job_id AND s.step = c.step
            WHERE c.job_id = @job{filter} ORDER BY c.step, s.rank
            """,
            [("job", jobId), .. extra]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<CheckpointManifest>();
        var shards = new List<CheckpointShard>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var step = reader.GetInt64(0);
            if (result.Count == 0 || result[^1].Step != step)
            {
                shards = [];
                result.Add(new CheckpointManifest(jobId, step, reader.GetInt64(1), FromDbTime(reader, 2), reader.GetInt64(3),
                    reader.GetDouble(4), reader.GetString(5), shards)
                {
                    Kind = reader.GetString(11),
                    Parent = reader.IsDBNull(12) ? null : new CheckpointSource(reader.GetString(12), reader.GetInt64(13)),
                });
            }

            var tensors = JsonSerializer.Deserialize<string[]>(reader.GetString(10))
                ?? throw new InvalidDataException($"checkpoint {jobId}@{step} rank {reader.GetInt32(6)} has no tensor list");
            shards.Add(new CheckpointShard(reader.GetInt32(6), reader.GetString(7), reader.GetInt64(8), reader.GetString(9), tensors));
        }

        return result;
    }
}
