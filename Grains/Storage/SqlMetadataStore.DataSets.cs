using System.Data.Common;

namespace Orchestrator.Grains.Storage;

/// <summary>Generated data sets: a distill job's teacher data, one row per job, written once.</summary>
public abstract partial class SqlMetadataStore : IDataSetStore
{
    private const string TeacherDataColumns =
        "job_id, teacher_job, teacher_step, prompt_file, prompt_sha256, sampling, rows, skipped, path, bytes, sha256, created_at";

    /// <inheritdoc />
    public async Task<TeacherDataSet> RecordTeacherDataAsync(TeacherDataSet dataSet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSet);
        StoreInput.RequireIdentifier(dataSet.JobId, "dataSet.JobId");
        ArgumentNullException.ThrowIfNull(dataSet.Teacher, "dataSet.Teacher");
        StoreInput.RequireIdentifier(dataSet.Teacher.JobId, "dataSet.Teacher.JobId");
        StoreInput.RequireText(dataSet.PromptFile, "dataSet.PromptFile");
        StoreInput.RequireText(dataSet.Path, "dataSet.Path");
        StoreInput.RequireJson(dataSet.SamplingJson, "dataSet.SamplingJson", allowNull: false);
        foreach (var (value, name) in new[] { (dataSet.PromptSha256, "dataSet.PromptSha256"), (dataSet.Sha256, "dataSet.Sha256") })
            if (value is null || value.Length != 64 || !value.All(Uri.IsHexDigit)) throw new ArgumentException($"{name}: must be 64 hex digits (a SHA-256)", name);
        foreach (var (value, name) in new[] { (dataSet.Rows, "dataSet.Rows"), (dataSet.Skipped, "dataSet.Skipped"), (dataSet.Bytes, "dataSet.Bytes"), (dataSet.Teacher.Step, "dataSet.Teacher.Step") })
            if (value < 0) throw new ArgumentException($"{name}: must not be negative (got {value})", name);

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await RequireJobAsync(connection, null, dataSet.JobId, cancellationToken).ConfigureAwait(false);
        await using (var insert = Command(
            connection, null,
            $"""
            INSERT INTO teacher_data ({TeacherDataColumns})
            VALUES (@job, @teacher_job, @teacher_step, @prompt_file, @prompt_sha, @sampling, @rows, @skipped, @path, @bytes, @sha, @at)
            ON CONFLICT (job_id) DO NOTHING
            """,
            ("job", dataSet.JobId), ("teacher_job", dataSet.Teacher.JobId), ("teacher_step", dataSet.Teacher.Step),
            ("prompt_file", dataSet.PromptFile), ("prompt_sha", dataSet.PromptSha256), ("rows", dataSet.Rows), ("skipped", dataSet.Skipped),
            ("path", dataSet.Path), ("bytes", dataSet.Bytes), ("sha", dataSet.Sha256), ("at", ToDbTime(Now()))))
        {
            AddJson(insert, "sampling", dataSet.SamplingJson);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return await GetTeacherDataAsync(dataSet.JobId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"the teacher data of job '{dataSet.JobId}' was not stored");
    }

    /// <inheritdoc />
    public async Task<TeacherDataSet?> GetTeacherDataAsync(string jobId, CancellationToken cancellationToken = default)
    {
        StoreInput.RequireIdentifier(jobId, nameof(jobId));
        var rows = await ReadJobRowsAsync(jobId, $"SELECT {TeacherDataColumns} FROM teacher_data WHERE job_id = @job", ReadTeacherData,
            cancellationToken, ("job", jobId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private TeacherDataSet ReadTeacherData(DbDataReader reader) =>
        new(reader.GetString(0), new CheckpointSource(reader.GetString(1), reader.GetInt64(2)), reader.GetString(3), reader.GetString(4),
            reader.GetString(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetString(8), reader.GetInt64(9), reader.GetString(10))
        {
            CreatedAt = FromDbTime(reader, 11),
        };
}
