using System.Data.Common;

namespace Orchestrator.Grains.Storage;

/// <summary>Jobs and their events: the <c>jobs</c> and <c>job_events</c> tables.</summary>
public abstract partial class SqlMetadataStore : IJobStore
{
    private const string JobColumns = "id, spec, state, epoch, created_at, updated_at, error";

    /// <inheritdoc />
    public async Task<JobRecord?> TryCreateJobAsync(string id, string specJson, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(id, nameof(id));
        StoreInput.RequireJson(specJson, nameof(specJson), allowNull: false);
        var now = Now();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection, null,
            """
            INSERT INTO jobs (id, spec, state, epoch, created_at, updated_at, error, last_event_seq)
            VALUES (@id, @spec, @state, 0, @now, @now, NULL, 0)
            ON CONFLICT (id) DO NOTHING
            """,
            ("id", id), ("state", StoredJobPhase.ToText(JobPhase.Submitted)), ("now", ToDbTime(now)));
        AddJson(command, "spec", specJson);
        var rows = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return rows == 1 ? new JobRecord(id, specJson, JobPhase.Submitted, 0, now, now, null) : null;
    }

    /// <inheritdoc />
    public async Task<JobRecord?> GetJobAsync(string id, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(id, nameof(id));
        var jobs = await ReadJobsAsync($"SELECT {JobColumns} FROM jobs WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobRecord>> ListJobsAsync(JobPhase? state = null, CancellationToken cancellationToken = default)
    {
        if (state is { } s)
        {
            StoreInput.RequireDefined(s, nameof(state));
            return ReadJobsAsync(
                $"SELECT {JobColumns} FROM jobs WHERE state = @state ORDER BY created_at, id", cancellationToken, ("state", StoredJobPhase.ToText(s)));
        }

        return ReadJobsAsync($"SELECT {JobColumns} FROM jobs ORDER BY created_at, id", cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> TryTransitionJobAsync(JobTransition transition, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireTransition(transition);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // One conditional UPDATE: the row lock makes the check and the write one step, so of two
        // callers expecting the same (state, epoch) exactly one sees a row change.
        var rows = await ExecuteAsync(
            connection, null,
            """
            UPDATE jobs SET state = @newState, epoch = @newEpoch, error = @error, updated_at = @now
            WHERE id = @id AND state = @expectedState AND epoch = @expectedEpoch
            """,
            cancellationToken,
            ("newState", StoredJobPhase.ToText(transition.NewState)),
            ("newEpoch", transition.NewEpoch),
            ("error", transition.Error),
            ("now", ToDbTime(Now())),
            ("id", transition.JobId),
            ("expectedState", StoredJobPhase.ToText(transition.ExpectedState)),
            ("expectedEpoch", transition.ExpectedEpoch)).ConfigureAwait(false);
        return rows == 1;
    }

    /// <inheritdoc />
    public async Task<JobEvent> AppendJobEventAsync(
        string jobId, string kind, string? detailJson = null, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        StoreInput.RequireText(kind, nameof(kind));
        StoreInput.RequireJson(detailJson, nameof(detailJson), allowNull: true);
        var now = Now();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var appended = await AppendJobEventAsync(connection, transaction, jobId, kind, detailJson, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return appended;
    }

    /// <summary>Appends an event inside the caller's transaction (so an event and the change it records commit together).</summary>
    private async Task<JobEvent> AppendJobEventAsync(
        DbConnection connection, DbTransaction transaction, string jobId, string kind, string? detailJson, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        // The job row's counter hands out sequence numbers; its row lock orders concurrent appenders.
        object? seq;
        await using (var next = Command(
            connection, transaction,
            "UPDATE jobs SET last_event_seq = last_event_seq + 1 WHERE id = @id RETURNING last_event_seq",
            ("id", jobId)))
        {
            seq = await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        if (seq is null or DBNull)
        {
            throw new KeyNotFoundException($"job '{jobId}' does not exist");
        }

        var number = Convert.ToInt64(seq, System.Globalization.CultureInfo.InvariantCulture);
        await using (var insert = Command(
            connection, transaction,
            "INSERT INTO job_events (job_id, seq, at, kind, detail) VALUES (@job, @seq, @at, @kind, @detail)",
            ("job", jobId), ("seq", number), ("at", ToDbTime(now)), ("kind", kind)))
        {
            AddJson(insert, "detail", detailJson);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return new JobEvent(jobId, number, now, kind, detailJson);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobEvent>> ListJobEventsAsync(
        string jobId, long afterSeq = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        ArgumentOutOfRangeException.ThrowIfNegative(afterSeq);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return await ReadJobRowsAsync(
            jobId,
            "SELECT seq, at, kind, detail FROM job_events WHERE job_id = @job AND seq > @after ORDER BY seq LIMIT @limit",
            reader => new JobEvent(
                jobId, reader.GetInt64(0), FromDbTime(reader, 1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)),
            cancellationToken, ("job", jobId), ("after", afterSeq), ("limit", limit)).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<JobRecord>> ReadJobsAsync(
        string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new List<JobRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(new JobRecord(
                reader.GetString(0),
                reader.GetString(1),
                StoredJobPhase.Parse(reader.GetString(2)),
                reader.GetInt64(3),
                FromDbTime(reader, 4),
                FromDbTime(reader, 5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return jobs;
    }
}
