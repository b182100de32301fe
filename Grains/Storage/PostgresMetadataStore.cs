using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace Orchestrator.Grains.Storage;

/// <summary>The metadata store on PostgreSQL, for clusters: every silo shares one database.</summary>
public sealed class PostgresMetadataStore : SqlMetadataStore
{
    /// <summary>Serialises concurrent schema upgrades; any constant unique to this schema will do.</summary>
    internal const long MigrationLockKey = 0x4F72636865737472; // "Orchestr"

    private readonly NpgsqlDataSource _dataSource;

    private PostgresMetadataStore(NpgsqlDataSource dataSource, TimeProvider? time)
        : base(time) => _dataSource = dataSource;

    /// <summary>Connects, brings the schema up to date and returns the store.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="time">The clock that stamps records; the system clock if null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<PostgresMetadataStore> OpenAsync(
        string connectionString, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            await MigrateAsync(dataSource, cancellationToken).ConfigureAwait(false);
            return new PostgresMetadataStore(dataSource, time);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Brings the schema (metadata and membership tables) up to date; safe to run from many silos at once.</summary>
    internal static async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SchemaMigrator.ApplyAsync(
            connection, "Postgres", $"SELECT pg_advisory_xact_lock({MigrationLockKey})", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    private protected override object ToDbTime(DateTimeOffset time) => time.ToUniversalTime();

    private protected override DateTimeOffset FromDbTime(DbDataReader reader, int ordinal) =>
        reader.GetFieldValue<DateTimeOffset>(ordinal);

    private protected override void AddJson(DbCommand command, string name, string? json) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Json) { Value = (object?)json ?? DBNull.Value });
}
