namespace Orchestrator.Grains;

/// <summary>
/// A distill job's teacher data set as the index records it, once: the teacher's answers to the job's prompt set, a JSONL
/// file of <c>{"prompt", "response"}</c> lines under the job's storage folder, and its lineage.
/// </summary>
/// <param name="JobId">The distill job it was generated for.</param>
/// <param name="Teacher">The teacher checkpoint that answered.</param>
/// <param name="PromptFile">The prompt set's path, as the spec names it.</param>
/// <param name="PromptSha256">SHA-256 (hex) of the prompt set's bytes when it was answered.</param>
/// <param name="SamplingJson">How the teacher decoded: <c>{"max_tokens", "temperature", "top_p", "seed"}</c>.</param>
/// <param name="Rows">Lines of the file (answered prompts).</param>
/// <param name="Skipped">Prompts whose answer was unusable (empty, or too long for a row once encoded again), left out.</param>
/// <param name="Path">The file, relative to the storage root, '/'-separated.</param>
/// <param name="Bytes">The file's size.</param>
/// <param name="Sha256">SHA-256 (hex) of the file.</param>
[GenerateSerializer, Immutable]
public sealed record TeacherDataSet(
    [property: Id(0)] string JobId,
    [property: Id(1)] CheckpointSource Teacher,
    [property: Id(2)] string PromptFile,
    [property: Id(3)] string PromptSha256,
    [property: Id(4)] string SamplingJson,
    [property: Id(5)] long Rows,
    [property: Id(6)] long Skipped,
    [property: Id(7)] string Path,
    [property: Id(8)] long Bytes,
    [property: Id(9)] string Sha256)
{
    /// <summary>When the row was written (set by the store).</summary>
    [Id(10)]
    public DateTimeOffset CreatedAt { get; init; }
}
