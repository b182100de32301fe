using System.Data.Common;

namespace Orchestrator.Grains.Storage;

/// <summary>
/// The metadata store over ADO.NET: the SQL both engines share (PostgreSQL and SQLite agree on
/// <c>ON CONFLICT</c>, <c>RETURNING</c> and <c>@name</c> parameters); the engines differ only in how
/// they connect, hold times and type JSON parameters.
/// </summary>
public abstract partial class SqlMetadataStore : IMetadataStore
{
    private const string JobColumns = "id, spec, state, epoch, created_at, updated_at, error";

    private readonly TimeProvider _time;

    private protected SqlMetadataStore(TimeProvider? time) => _time = time ?? TimeProvider.System;

    /// <inheritdoc />
    public async Task UpsertNodeAsync(NodeRegistration node, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireNode(node);
        var now = Now();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection, transaction,
            """
            INSERT INTO nodes (name, host, status, last_seen) VALUES (@name, @host, @status, @now)
            ON CONFLICT (name) DO UPDATE SET host = excluded.host, status = excluded.status, last_seen = excluded.last_seen
            """,
            cancellationToken,
            ("name", node.Name), ("host", node.Host), ("status", nameof(NodeStatus.Alive)), ("now", ToDbTime(now))).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM devices WHERE node = @name", cancellationToken, ("name", node.Name)).ConfigureAwait(false);
        foreach (var device in node.Devices)
        {
            await ExecuteAsync(
                connection, transaction,
                "INSERT INTO devices (node, device_id, kind) VALUES (@node, @id, @kind)",
                cancellationToken,
                ("node", node.Name), ("id", device.Id), ("kind", DeviceSlot.KindName(device.Kind))).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> MarkNodeAsync(string name, NodeStatus status, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(name, nameof(name));
        StoreInput.RequireDefined(status, nameof(status));
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ExecuteAsync(
            connection, null,
            "UPDATE nodes SET status = @status, last_seen = @now WHERE name = @name",
            cancellationToken,
            ("status", status.ToString()), ("now", ToDbTime(Now())), ("name", name)).ConfigureAwait(false);
        return rows == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // One statement, so that the devices belong to the nodes as read (PostgreSQL's default isolation
        // gives each statement, not each transaction, its own snapshot).
        await using var command = Command(
            connection, null,
            "SELECT n.name, n.host, n.status, n.last_seen, d.device_id FROM nodes n LEFT JOIN devices d ON d.node = n.name ORDER BY n.name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var nodes = new List<NodeRecord>();
        var devices = new List<DeviceSlot>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            if (nodes.Count == 0 || nodes[^1].Name != name)
            {
                Close(nodes, devices);
                devices = [];
                nodes.Add(new NodeRecord(name, reader.GetString(1), ParseEnum<NodeStatus>(reader.GetString(2)), FromDbTime(reader, 3), devices));
            }

            if (!reader.IsDBNull(4))
            {
                devices.Add(DeviceSlot.Parse(reader.GetString(4)));
            }
        }

        Close(nodes, devices);
        return nodes;

        static void Close(List<NodeRecord> nodes, List<DeviceSlot> devices)
        {
            if (nodes.Count > 0)
            {
                nodes[^1] = nodes[^1] with { Devices = devices.OrderBy(d => d.Kind).ThenBy(d => d.Index).ToArray() };
            }
        }
    }

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

    /// <inheritdoc />
    public async Task AppendMetricsAsync(
        string jobId, IReadOnlyList<MetricSample> samples, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        StoreInput.RequireMetrics(samples);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, transaction, jobId, cancellationToken).ConfigureAwait(false);
        foreach (var sample in samples)
        {
            await ExecuteAsync(
                connection, transaction,
                """
                INSERT INTO metrics (job_id, name, step, value, at) VALUES (@job, @name, @step, @value, @at)
                ON CONFLICT (job_id, name, step) DO UPDATE SET value = excluded.value, at = excluded.at
                """,
                cancellationToken,
                ("job", jobId), ("name", sample.Name), ("step", sample.Step), ("value", ToDbValue(sample.Value)), ("at", ToDbTime(Truncate(sample.At)))).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MetricSample>> QueryMetricsAsync(
        string jobId, MetricQuery query, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        StoreInput.RequireQuery(query);
        // The name filter is left out of the SQL rather than passed as NULL: PostgreSQL cannot type an
        // untyped NULL parameter in "@name IS NULL".
        var byName = query.Name is null ? string.Empty : " AND name = @name";
        return await ReadJobRowsAsync(
            jobId,
            $"SELECT step, name, value, at FROM metrics WHERE job_id = @job{byName} AND step >= @from AND step <= @to ORDER BY name, step",
            reader => new MetricSample(
                reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? double.NaN : reader.GetDouble(2), FromDbTime(reader, 3)), // SQLite keeps a NaN REAL as NULL
            cancellationToken, ("job", jobId), ("name", query.Name ?? string.Empty), ("from", query.FromStep ?? 0L), ("to", query.ToStep ?? long.MaxValue))
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    /// <summary>Opens a connection to the store's database.</summary>
    private protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>A UTC instant as the engine stores it.</summary>
    private protected abstract object ToDbTime(DateTimeOffset time);

    /// <summary>A stored instant back as UTC.</summary>
    private protected abstract DateTimeOffset FromDbTime(DbDataReader reader, int ordinal);

    /// <summary>Adds a JSON parameter (null becomes SQL NULL).</summary>
    private protected abstract void AddJson(DbCommand command, string name, string? json);

    /// <summary>A metric value as the engine stores it.</summary>
    private protected virtual object ToDbValue(double value) => value;

    /// <summary>Both engines keep microseconds; cutting here makes what a write returns equal what a read returns.</summary>
    private protected static DateTimeOffset Truncate(DateTimeOffset time)
    {
        var ticks = time.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    private protected static DbCommand Command(
        DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Rows of one job (which must exist, else <see cref="KeyNotFoundException"/>), each mapped by <paramref name="read"/>.</summary>
    private async Task<IReadOnlyList<T>> ReadJobRowsAsync<T>(
        string jobId, string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, null, jobId, cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) rows.Add(read(reader));
        return rows;
    }

    private static async Task<int> ExecuteAsync(
        DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task RequireJobAsync(
        DbConnection connection, DbTransaction? transaction, string jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT 1 FROM jobs WHERE id = @id", ("id", jobId));
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            throw new KeyNotFoundException($"job '{jobId}' does not exist");
        }
    }

    private static TEnum ParseEnum<TEnum>(string text)
        where TEnum : struct, Enum =>
        Enum.TryParse<TEnum>(text, ignoreCase: false, out var value) && Enum.IsDefined(value)
            ? value
            : throw new InvalidDataException($"the store holds '{text}', which is not a {typeof(TEnum).Name}");

    private DateTimeOffset Now() => Truncate(_time.GetUtcNow());

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
