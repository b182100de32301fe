using Microsoft.Data.Sqlite;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The store contract on SQLite, each test in a temp file of its own.</summary>
public sealed class SqliteMetadataStoreTests : MetadataStoreContract
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"orchestrator-{Guid.NewGuid():N}.db");

    /// <inheritdoc />
    protected override async Task<SqlMetadataStore> OpenStoreAsync(TimeProvider clock) =>
        await SqliteMetadataStore.OpenAsync(_path, clock);

    /// <inheritdoc />
    protected override Task CleanUpAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }

        return Task.CompletedTask;
    }
}
