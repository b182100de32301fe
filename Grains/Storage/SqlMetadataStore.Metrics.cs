using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Grains.Storage;

/// <summary>
/// A job's per-step figures: the <c>metrics</c> table and the expert loads and biases per (job, step, layer) of
/// <c>expert_loads</c> (migration 0002).
/// </summary>
public abstract partial class SqlMetadataStore : IMetricStore
{
    /// <inheritdoc />
    public async Task AppendMetricsAsync(
        string jobId, IReadOnlyList<MetricSample> samples, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        StoreInput.RequireMetrics(samples);
        await UpsertJobRowsAsync(
            jobId, samples,
            """
            INSERT INTO metrics (job_id, name, step, value, at) VALUES (@job, @name, @step, @value, @at)
            ON CONFLICT (job_id, name, step) DO UPDATE SET value = excluded.value, at = excluded.at
            """,
            sample => [("name", sample.Name), ("step", sample.Step), ("value", ToDbValue(sample.Value)), ("at", ToDbTime(Truncate(sample.At)))],
            cancellationToken).ConfigureAwait(false);
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
    public async Task AppendExpertLoadsAsync(
        string jobId, IReadOnlyList<ExpertLoadSample> samples, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        StoreInput.RequireExpertLoads(samples);
        await UpsertJobRowsAsync(
            jobId, samples,
            """
            INSERT INTO expert_loads (job_id, layer, step, loads, biases, at) VALUES (@job, @layer, @step, @loads, @biases, @at)
            ON CONFLICT (job_id, step, layer) DO UPDATE SET loads = excluded.loads, biases = excluded.biases, at = excluded.at
            """,
            sample => [
                ("layer", sample.Layer), ("step", sample.Step),
                ("loads", JsonSerializer.Serialize(sample.Loads)), ("biases", BiasesJson(sample.Biases)), ("at", ToDbTime(Truncate(sample.At))),
            ],
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ExpertLoadSample>> QueryExpertLoadsAsync(
        string jobId, long fromStep = 0, long toStep = long.MaxValue, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        if (fromStep > toStep)
            throw new ArgumentException($"fromStep {fromStep} is after toStep {toStep}", nameof(fromStep));
        return await ReadJobRowsAsync(
            jobId,
            "SELECT step, layer, loads, biases, at FROM expert_loads WHERE job_id = @job AND step >= @from AND step <= @to ORDER BY step, layer",
            reader => new ExpertLoadSample(
                reader.GetInt64(0), reader.GetInt32(1),
                JsonSerializer.Deserialize<long[]>(reader.GetString(2)) ?? [],
                ReadBiases(reader.GetString(3)),
                FromDbTime(reader, 4)),
            cancellationToken, ("job", jobId), ("from", fromStep), ("to", toStep)).ConfigureAwait(false);
    }

    // JSON has no NaN or infinity: such a bias is written as null and read back as NaN.
    private static string BiasesJson(IReadOnlyList<double> biases) =>
        "[" + string.Join(",", biases.Select(b => double.IsFinite(b) ? b.ToString("R", CultureInfo.InvariantCulture) : "null")) + "]";

    private static double[] ReadBiases(string json) =>
        JsonSerializer.Deserialize<double?[]>(json)?.Select(b => b ?? double.NaN).ToArray() ?? [];

    /// <summary>
    /// Writes one row per sample of a job in one transaction (all or none), after checking the job exists;
    /// <paramref name="sql"/> is an upsert, so a replayed step replaces its rows.
    /// </summary>
    private async Task UpsertJobRowsAsync<T>(
        string jobId, IReadOnlyList<T> samples, string sql, Func<T, (string Name, object? Value)[]> parameters,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, transaction, jobId, cancellationToken).ConfigureAwait(false);
        foreach (var sample in samples)
        {
            await ExecuteAsync(connection, transaction, sql, cancellationToken, [("job", jobId), .. parameters(sample)]).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
