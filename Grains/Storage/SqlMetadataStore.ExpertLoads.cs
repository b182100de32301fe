using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Grains.Storage;

/// <summary>Expert loads and biases per (job, step, layer): the <c>expert_loads</c> table (migration 0002).</summary>
public abstract partial class SqlMetadataStore
{
    /// <inheritdoc />
    public async Task AppendExpertLoadsAsync(
        string jobId, IReadOnlyList<ExpertLoadSample> samples, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        RequireExpertLoads(samples);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, transaction, jobId, cancellationToken).ConfigureAwait(false);
        foreach (var sample in samples)
        {
            await ExecuteAsync(
                connection, transaction,
                """
                INSERT INTO expert_loads (job_id, layer, step, loads, biases, at) VALUES (@job, @layer, @step, @loads, @biases, @at)
                ON CONFLICT (job_id, step, layer) DO UPDATE SET loads = excluded.loads, biases = excluded.biases, at = excluded.at
                """,
                cancellationToken,
                ("job", jobId), ("layer", sample.Layer), ("step", sample.Step),
                ("loads", JsonSerializer.Serialize(sample.Loads)), ("biases", BiasesJson(sample.Biases)),
                ("at", ToDbTime(Truncate(sample.At)))).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
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

    private static void RequireExpertLoads(IReadOnlyList<ExpertLoadSample>? samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var seen = new HashSet<(long, int)>();
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i] ?? throw new ArgumentException($"sample {i} is null", nameof(samples));
            if (sample.Step < 0) throw new ArgumentException($"sample {i} has negative step {sample.Step}", nameof(samples));
            if (sample.Layer < 0) throw new ArgumentException($"sample {i} has negative layer {sample.Layer}", nameof(samples));
            if (sample.Loads is null || sample.Biases is null) throw new ArgumentException($"sample {i} has no loads or biases array", nameof(samples));
            if (sample.Loads.Any(l => l < 0)) throw new ArgumentException($"sample {i} has a negative load", nameof(samples));
            if (!seen.Add((sample.Step, sample.Layer)))
                throw new ArgumentException($"sample {i} repeats layer {sample.Layer} at step {sample.Step}", nameof(samples));
        }
    }
}
