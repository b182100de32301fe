using Microsoft.Data.Sqlite;
using Npgsql;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>Silos start together: the schema must come up once, whoever gets there first.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SchemaMigrationTests(PostgresServer server)
{
    private const int Starters = 6;

    [Fact]
    public async Task ConcurrentStarts_OnAnEmptyPostgresDatabase_ApplyEachMigrationOnce()
    {
        var connectionString = await server.DatabaseForAsync(GetType(), "concurrent");

        var stores = await Task.WhenAll(Enumerable.Range(0, Starters).Select(_ =>
            Task.Run(() => PostgresMetadataStore.OpenAsync(connectionString))));

        await Assert.AllAsync(stores, async s => await s.DisposeAsync());
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var versions = new NpgsqlCommand("SELECT version FROM schema_version ORDER BY version", connection);
        Assert.Equal(ExpectedVersions("Postgres"), await ReadIntsAsync(versions));
    }

    [Fact]
    public async Task ConcurrentStarts_OnANewSqliteFile_ApplyEachMigrationOnce()
    {
        var path = Path.Combine(Path.GetTempPath(), $"orchestrator-{Guid.NewGuid():N}.db");
        try
        {
            var stores = await Task.WhenAll(Enumerable.Range(0, Starters).Select(_ =>
                Task.Run(() => SqliteMetadataStore.OpenAsync(path))));

            await Assert.AllAsync(stores, async s => await s.DisposeAsync());
            await using var connection = new SqliteConnection($"Data Source={path}");
            await connection.OpenAsync();
            await using var versions = connection.CreateCommand();
            versions.CommandText = "SELECT version FROM schema_version ORDER BY version";
            Assert.Equal(ExpectedVersions("Sqlite"), await ReadIntsAsync(versions));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    private static int[] ExpectedVersions(string dialect)
    {
        var versions = typeof(SqlMetadataStore).Assembly.GetManifestResourceNames()
            .Where(r => r.StartsWith($"Migrations/{dialect}/", StringComparison.Ordinal))
            .Select(r => int.Parse(Path.GetFileName(r).Split('_')[0], System.Globalization.CultureInfo.InvariantCulture))
            .Order()
            .ToArray();
        Assert.NotEmpty(versions);
        return versions;
    }

    private static async Task<int[]> ReadIntsAsync(System.Data.Common.DbCommand command)
    {
        var values = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetInt32(0));
        }

        return [.. values];
    }
}
