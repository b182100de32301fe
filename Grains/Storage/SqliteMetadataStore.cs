using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Grains.Storage;

/// <summary>The metadata store in one SQLite file, for <c>orchestrator demo</c> on a single node.</summary>
public sealed class SqliteMetadataStore : SqlMetadataStore
{
    private readonly string _connectionString;

    private SqliteMetadataStore(string connectionString, TimeProvider? time)
        : base(time) => _connectionString = connectionString;

    /// <summary>Opens (creating if need be) the database file, brings its schema up to date and returns the store.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="time">The clock that stamps records; the system clock if null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<SqliteMetadataStore> OpenAsync(
        string path, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        var store = new SqliteMetadataStore(connectionString, time);
        await using var connection = (SqliteConnection)await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // WAL lets the dashboard read while a grain writes; it is a property of the file, set once.
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Microsoft.Data.Sqlite begins transactions IMMEDIATE, which takes the write lock up front:
        // that is the lock that serialises two processes upgrading one file.
        await SchemaMigrator.ApplyAsync(connection, "Sqlite", lockSql: null, cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open; release them so that the file can be deleted or moved.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    private protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private protected override object ToDbTime(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private protected override DateTimeOffset FromDbTime(DbDataReader reader, int ordinal) =>
        new(DateTimeOffset.UnixEpoch.UtcTicks + (reader.GetInt64(ordinal) * 10), TimeSpan.Zero);

    // SQLite has no NaN (Microsoft.Data.Sqlite refuses to bind one); NULL stands for it, see 0001_initial.sql.
    private protected override object ToDbValue(double value) => double.IsNaN(value) ? DBNull.Value : value;

    private protected override void AddJson(DbCommand command, string name, string? json) =>
        command.Parameters.Add(new SqliteParameter(name, (object?)json ?? DBNull.Value));
}
