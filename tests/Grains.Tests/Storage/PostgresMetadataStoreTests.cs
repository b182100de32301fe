using Npgsql;
using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Tests.Support;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The store contract on PostgreSQL: each test starts from emptied tables in the class's database.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMetadataStoreTests(PostgresServer server) : MetadataStoreContract
{
    private bool _emptied;

    /// <inheritdoc />
    protected override async Task<SqlMetadataStore> OpenStoreAsync(TimeProvider clock)
    {
        var connectionString = await server.DatabaseForAsync(GetType());
        var store = await PostgresMetadataStore.OpenAsync(connectionString, clock);

        // The class shares one database; a test sees only its own rows. (Run before the test, not after,
        // so that a failed test leaves its rows for a look.)
        if (!_emptied)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var truncate = new NpgsqlCommand("TRUNCATE nodes, devices, jobs, job_events, metrics, checkpoints, checkpoint_shards, expert_loads, teacher_data", connection);
            await truncate.ExecuteNonQueryAsync();
            _emptied = true;
        }

        return store;
    }
}
