using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orchestrator.Grains.Storage;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Orchestrator.Grains.Membership;

/// <summary>
/// Orleans' membership table in the orchestrator's PostgreSQL database: one <c>membership_version</c>
/// row per cluster (the table version and its etag) and one <c>membership</c> row per silo incarnation.
/// </summary>
/// <remarks>
/// Every write that changes membership is conditional on the table etag the writer read, and on the row
/// etag for updates, in one transaction: the version row's lock serialises writers, and a writer whose
/// etag is stale matches no row and changes nothing. The version must also grow (Orleans passes
/// <c>TableVersion.Next()</c>), which keeps it monotonic as the contract says it is. Etags are numbers from the version row's counter, so
/// a row's etag is the table etag of the write that last changed it, unique within the cluster.
/// </remarks>
public sealed partial class PostgresMembershipTable : IMembershipTable, IAsyncDisposable
{
    private readonly string _clusterId;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresMembershipTable> _logger;

    /// <summary>Creates the table over the configured database; nothing is opened until <see cref="InitializeMembershipTable"/>.</summary>
    public PostgresMembershipTable(
        IOptions<PostgresClusteringOptions> options, IOptions<ClusterOptions> clusterOptions, ILogger<PostgresMembershipTable> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        if (string.IsNullOrWhiteSpace(options.Value.ConnectionString))
        {
            throw new OrleansConfigurationException("PostgresClusteringOptions.ConnectionString is not set");
        }

        _clusterId = clusterOptions.Value.ClusterId
            ?? throw new OrleansConfigurationException("ClusterOptions.ClusterId is not set");
        _dataSource = NpgsqlDataSource.Create(options.Value.ConnectionString);
        _logger = logger;
    }

    /// <summary>Brings the schema up to date and, if asked, creates this cluster's version row (version 0) if absent.</summary>
    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        await PostgresMetadataStore.MigrateAsync(_dataSource, CancellationToken.None).ConfigureAwait(false);
        if (tryInitTableVersion)
        {
            await using var command = _dataSource.CreateCommand(
                """
                INSERT INTO membership_version (cluster_id, version, etag, updated_at) VALUES (@cluster, 0, 0, now())
                ON CONFLICT (cluster_id) DO NOTHING
                """);
            command.Parameters.AddWithValue("cluster", _clusterId);
            var created = await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
            LogInitialized(_clusterId, created);
        }
    }

    /// <summary>Removes the cluster: its version row and, with it, every silo row.</summary>
    public async Task DeleteMembershipTableEntries(string clusterId)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM membership_version WHERE cluster_id = @cluster");
        command.Parameters.AddWithValue("cluster", clusterId);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Removes the rows of dead silos whose latest start, heartbeat or suspicion precedes <paramref name="beforeDate"/>.</summary>
    public async Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        await using var command = _dataSource.CreateCommand(
            "DELETE FROM membership WHERE cluster_id = @cluster AND status = @dead AND last_update < @before");
        command.Parameters.AddWithValue("cluster", _clusterId);
        command.Parameters.AddWithValue("dead", (int)SiloStatus.Dead);
        command.Parameters.AddWithValue("before", beforeDate.ToUniversalTime());
        var removed = await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        LogCleanedUp(removed, beforeDate);
    }

    /// <summary>The row of one silo (if present) and the table version, in one snapshot.</summary>
    public Task<MembershipTableData> ReadRow(SiloAddress key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ReadAsync(key);
    }

    /// <summary>Every row of the cluster and the table version, in one snapshot.</summary>
    public Task<MembershipTableData> ReadAll() => ReadAsync(null);

    /// <summary>Adds a silo's row if the table etag is still <c>tableVersion.VersionEtag</c> and the silo has no row.</summary>
    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(tableVersion);
        return WriteAsync(entry, rowEtag: null, tableVersion);
    }

    /// <summary>Replaces a silo's row if the table etag and the row etag are both still the ones given.</summary>
    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(tableVersion);
        return MembershipRowCodec.TryParseEtag(etag, out var rowEtag)
            ? WriteAsync(entry, rowEtag, tableVersion)
            : Task.FromResult(false);
    }

    /// <summary>
    /// Writes the silo's heartbeat time, unconditionally and touching nothing else: not the row etag,
    /// not the table version, so reads taken before a heartbeat stay usable for <see cref="UpdateRow"/>.
    /// </summary>
    public async Task UpdateIAmAlive(MembershipEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var command = _dataSource.CreateCommand(
            $"UPDATE membership SET i_am_alive_time = @alive, last_update = GREATEST(last_update, @alive) WHERE {MembershipRowCodec.KeyCondition}");
        MembershipRowCodec.AddKey(command, _clusterId, entry.SiloAddress);
        command.Parameters.AddWithValue("alive", MembershipRowCodec.Utc(entry.IAmAliveTime));
        if (await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 0)
        {
            throw new InvalidOperationException(
                $"silo {entry.SiloAddress} has no membership row in cluster '{_clusterId}' to record a heartbeat in");
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private async Task<MembershipTableData> ReadAsync(SiloAddress? key)
    {
        // One statement is one snapshot: the version and the rows are read together.
        var rowFilter = key is null ? string.Empty : " AND m.address = @address AND m.port = @port AND m.generation = @generation";
        await using var command = _dataSource.CreateCommand(
            $"""
            SELECT v.version, v.etag, {MembershipRowCodec.Columns}
            FROM membership_version v LEFT JOIN membership m ON m.cluster_id = v.cluster_id{rowFilter}
            WHERE v.cluster_id = @cluster
            """);
        if (key is null)
        {
            command.Parameters.AddWithValue("cluster", _clusterId);
        }
        else
        {
            MembershipRowCodec.AddKey(command, _clusterId, key);
        }

        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        var rows = new List<Tuple<MembershipEntry, string>>();
        TableVersion? version = null;
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            version ??= new TableVersion(reader.GetInt32(0), reader.GetInt64(1).ToString(CultureInfo.InvariantCulture));
            if (!reader.IsDBNull(2))
            {
                rows.Add(MembershipRowCodec.Read(reader, 2));
            }
        }

        // No version row: the cluster was never initialised (or was deleted); no etag can match it.
        return new MembershipTableData(rows, version ?? new TableVersion(0, "none"));
    }

    private async Task<bool> WriteAsync(MembershipEntry entry, long? rowEtag, TableVersion tableVersion)
    {
        if (!MembershipRowCodec.TryParseEtag(tableVersion.VersionEtag, out var tableEtag))
        {
            return false;
        }

        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);

        // Bumping the version row first takes its lock: a concurrent writer with the same etag waits
        // here, then finds the etag changed and matches nothing.
        long newEtag;
        await using (var bump = new NpgsqlCommand(
            """
            UPDATE membership_version SET version = @version, etag = etag + 1, updated_at = now()
            WHERE cluster_id = @cluster AND etag = @etag AND version < @version
            RETURNING etag
            """,
            connection,
            transaction))
        {
            bump.Parameters.AddWithValue("version", tableVersion.Version);
            bump.Parameters.AddWithValue("cluster", _clusterId);
            bump.Parameters.AddWithValue("etag", tableEtag);
            if (await bump.ExecuteScalarAsync().ConfigureAwait(false) is not long bumped)
            {
                LogStaleTableVersion(entry.SiloAddress, tableVersion);
                return false;
            }

            newEtag = bumped;
        }

        var sql = rowEtag is null
            ? $"INSERT INTO membership ({MembershipRowCodec.InsertColumns}) VALUES ({MembershipRowCodec.InsertValues}) ON CONFLICT DO NOTHING"
            : $"UPDATE membership SET {MembershipRowCodec.UpdateAssignments} WHERE {MembershipRowCodec.KeyCondition} AND etag = @rowEtag";
        await using (var write = new NpgsqlCommand(sql, connection, transaction))
        {
            MembershipRowCodec.AddKey(write, _clusterId, entry.SiloAddress);
            MembershipRowCodec.AddFields(write, entry, newEtag);
            if (rowEtag is { } expected)
            {
                write.Parameters.AddWithValue("rowEtag", expected);
            }

            if (await write.ExecuteNonQueryAsync().ConfigureAwait(false) != 1)
            {
                // Disposing the transaction rolls the version bump back.
                LogRowConflict(entry.SiloAddress, rowEtag is null ? "it already has a row" : "its row etag is stale or the row is gone");
                return false;
            }
        }

        await transaction.CommitAsync().ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Membership table for cluster {ClusterId} initialised (version row created: {Created})")]
    private partial void LogInitialized(string clusterId, bool created);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} defunct silo rows last updated before {BeforeDate}")]
    private partial void LogCleanedUp(int count, DateTimeOffset beforeDate);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Membership write for {Silo} refused: table version {TableVersion} is stale")]
    private partial void LogStaleTableVersion(SiloAddress silo, TableVersion tableVersion);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Membership write for {Silo} refused: {Reason}")]
    private partial void LogRowConflict(SiloAddress silo, string reason);
}
