using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Kernels.Generation;

namespace Orchestrator.Grains.Distill;

/// <summary>
/// The teacher data set's files under <c>root/job/teacher-data/</c>: each rank's part (<c>part-S-of-N.jsonl</c>: its
/// prompts' answers with their indices, null for a left-out one), and the data set (<c>teacher.jsonl</c>: the answered
/// prompts in prompt order as <c>{"prompt", "response"}</c> lines, what sft reads). Each is written to a temporary name,
/// flushed and renamed, so a file that exists is whole.
/// </summary>
public static class TeacherDataFiles
{
    /// <summary>The folder under the job's storage folder.</summary>
    public const string Folder = "teacher-data";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The data set's path relative to the storage root ('/'-separated).</summary>
    public static string Relative(string jobId) => $"{jobId}/{Folder}/teacher.jsonl";

    /// <summary>Rank share <paramref name="shard"/> of <paramref name="shards"/>'s part file.</summary>
    public static string Part(string root, string jobId, int shard, int shards) =>
        Path.Combine(root, jobId, Folder, $"part-{shard}-of-{shards}.jsonl");

    /// <summary>Writes a part (whole or not at all).</summary>
    public static void WritePart(string path, IReadOnlyList<TeacherResponse> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        Atomic(path, writer =>
        {
            foreach (var a in answers) writer.Write(JsonSerializer.Serialize(new PartLine(a.Index, a.Prompt, a.Response), Json) + "\n");
        });
    }

    /// <summary>
    /// Merges the <paramref name="shards"/> parts into the data set, in prompt order; returns its lines, the prompts left
    /// out, its size and SHA-256 (hex).
    /// </summary>
    public static (long Rows, long Skipped, long Bytes, string Sha256) Merge(string root, string jobId, int shards)
    {
        var lines = Enumerable.Range(0, shards)
            .SelectMany(s => File.ReadLines(Part(root, jobId, s, shards)).Select(l => JsonSerializer.Deserialize<PartLine>(l, Json)
                ?? throw new InvalidDataException($"part {s} of {shards} of job {jobId}'s teacher data holds a null line")))
            .OrderBy(l => l.Index).ToList();
        var path = Path.Combine(root, Relative(jobId));
        Atomic(path, writer =>
        {
            foreach (var line in lines.Where(l => l.Response is not null))
                writer.Write(JsonSerializer.Serialize(new DataLine(line.Prompt, line.Response!), Json) + "\n");
        });
        var (bytes, sha) = Digest(path);
        return (lines.Count(l => l.Response is not null), lines.Count(l => l.Response is null), bytes, sha);
    }

    /// <summary>The size and SHA-256 (hex, lower case) of a file.</summary>
    public static (long Bytes, string Sha256) Digest(string path)
    {
        using var file = File.OpenRead(path);
        return (file.Length, Convert.ToHexStringLower(SHA256.HashData(file)));
    }

    /// <summary>What is wrong with the recorded data set's file (missing, other size or digest), or null when it is the one recorded.</summary>
    public static string? Problem(string root, TeacherDataSet dataSet)
    {
        ArgumentNullException.ThrowIfNull(dataSet);
        var path = Path.Combine(root, dataSet.Path);
        if (!File.Exists(path)) return $"the teacher data '{dataSet.Path}' recorded in the index is missing";
        var (bytes, sha) = Digest(path);
        return bytes == dataSet.Bytes && sha == dataSet.Sha256 ? null
            : $"the teacher data '{dataSet.Path}' has {bytes} bytes and SHA-256 {sha}; the index recorded {dataSet.Bytes} bytes, {dataSet.Sha256}";
    }

    private static void Atomic(string path, Action<StreamWriter> write)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            write(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    private sealed record PartLine(int Index, string Prompt, string? Response);

    private sealed record DataLine(string Prompt, string Response);
}
