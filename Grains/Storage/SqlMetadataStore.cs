using System.Data.Common;

namespace Orchestrator.Grains.Storage;

/// <summary>
/// The metadata store over ADO.NET: one open database that is the <see cref="IJobStore"/>, the
/// <see cref="IMetricStore"/>, the <see cref="INodeStore"/> and the <see cref="ICheckpointIndex"/>
/// (one partial file each). The SQL is the engines' shared dialect (PostgreSQL and SQLite agree on
/// <c>ON CONFLICT</c>, <c>RETURNING</c> and <c>@name</c> parameters); the engines differ only in how they
/// connect, hold times and type JSON parameters (<see cref="PostgresMetadataStore"/>, <see cref="SqliteMetadataStore"/>).
/// </summary>
/// <remarks>
/// One object rather than four sharing a connection source: whoever opens it migrates the schema once
/// and disposes it once, and a checkpoint commit writes its fence, rows and job event in one transaction
/// on one connection. Callers still see only the interface they need (<see cref="MetadataStoreServices"/>
/// registers the one object as each).
/// </remarks>
public abstract partial class SqlMetadataStore : IAsyncDisposable
{
    private readonly TimeProvider _time;

    private protected SqlMetadataStore(TimeProvider? time) => _time = time ?? TimeProvider.System;

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
}
