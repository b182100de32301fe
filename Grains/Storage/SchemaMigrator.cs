using System.Data.Common;
using System.Globalization;
using System.Reflection;

namespace Orchestrator.Grains.Storage;

/// <summary>
/// Applies the SQL scripts embedded under <c>Migrations/&lt;dialect&gt;/NNNN_name.sql</c> that the
/// database has not seen yet, in version order, recording each in <c>schema_version</c>.
/// </summary>
/// <remarks>
/// A small runner rather than DbUp: every silo applies migrations at start, and silos start together.
/// DbUp takes no lock of its own across processes (DbUp/DbUp#358: two upgraders can both see a script
/// as new and both run it), so we would have to wrap it in our own lock anyway, at which point the
/// library's remaining value is reading a folder of scripts in order. Here the whole upgrade, version
/// check included, runs in one transaction that first takes a lock the dialect provides (PostgreSQL:
/// a transaction-scoped advisory lock; SQLite: BEGIN IMMEDIATE), so concurrent starters take turns and
/// the later ones find nothing to do. Both engines have transactional DDL, so a failed script leaves
/// the schema as it was.
/// </remarks>
internal static class SchemaMigrator
{
    private const string ResourcePrefix = "Migrations/";

    /// <summary>The scripts of one dialect, in version order.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Scripts(string dialect)
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var prefix = ResourcePrefix + dialect + "/";
        var scripts = new List<(int Version, string Name, string Sql)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[prefix.Length..];
            var underscore = name.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(name.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"migration '{resource}' is not named NNNN_name.sql");
            }

            scripts.Add((version, name, Read(assembly, resource)));
        }

        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < scripts.Count; i++)
        {
            if (scripts[i].Version == scripts[i - 1].Version)
            {
                throw new InvalidOperationException(
                    $"migrations '{scripts[i - 1].Name}' and '{scripts[i].Name}' have the same version");
            }
        }

        return scripts;
    }

    /// <summary>Brings the database on <paramref name="connection"/> (open) to the newest schema.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="dialect">The folder of scripts: <c>Postgres</c> or <c>Sqlite</c>.</param>
    /// <param name="lockSql">SQL run first inside the transaction to serialise upgraders, or null.</param>
    /// <param name="cancellationToken">Cancels the upgrade (which then rolls back).</param>
    /// <returns>The versions applied by this call.</returns>
    public static async Task<IReadOnlyList<int>> ApplyAsync(
        DbConnection connection, string dialect, string? lockSql, CancellationToken cancellationToken)
    {
        var scripts = Scripts(dialect);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (lockSql is not null)
        {
            await ExecuteAsync(connection, transaction, lockSql, cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(
            connection,
            transaction,
            "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)",
            cancellationToken).ConfigureAwait(false);

        var applied = new HashSet<int>();
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT version FROM schema_version";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var newest = scripts.Count == 0 ? 0 : scripts[^1].Version;
        if (applied.Count > 0 && applied.Max() > newest)
        {
            throw new InvalidOperationException(
                $"the database's schema is at version {applied.Max()}, newer than this build's {newest}; run a newer build");
        }

        var done = new List<int>();
        foreach (var (version, name, sql) in scripts)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await ExecuteAsync(connection, transaction, sql, cancellationToken).ConfigureAwait(false);
            await using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES (@version, @name, @at)";
            AddParameter(record, "version", version);
            AddParameter(record, "name", name);
            AddParameter(record, "at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            done.Add(version);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return done;
    }

    private static async Task ExecuteAsync(
        DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"migration '{resource}' is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
