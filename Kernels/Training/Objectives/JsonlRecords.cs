using System.Text.Json;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Reads a JSONL data file whose lines are flat objects of string fields from a fixed set (SFT examples, a prompt set):
/// the file must exist and hold at least one line; each line must be a JSON object with only the named fields, each a
/// string. The first bad line is refused with a <see cref="DataFileException"/> naming the file and its line; which
/// fields are required and what else a line must satisfy is the caller's <c>parse</c>.
/// </summary>
internal static class JsonlRecords
{
    /// <summary>
    /// The records of <paramref name="path"/>, each line turned into one by <paramref name="parse"/>; <paramref name="what"/>
    /// names the file's kind in the "no such file" reason ("SFT data"), <paramref name="plural"/> what an empty file lacks
    /// ("examples").
    /// </summary>
    public static IReadOnlyList<T> Read<T>(string path, string what, string plural, IReadOnlyList<string> fields, Func<JsonlRecord, T> parse)
    {
        ArgumentNullException.ThrowIfNull(path);
        var shape = "{" + string.Join(", ", fields.Select(f => $"\"{f}\"")) + "}";
        if (!File.Exists(path)) throw new DataFileException(path, 0, $"no such file ({what} is a JSONL file of {shape} lines)");
        var only = fields.Count == 1 ? $"\"{fields[0]}\"" : string.Join(", ", fields.SkipLast(1).Select(f => $"\"{f}\"")) + $" and \"{fields[^1]}\"";
        var records = new List<T>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new DataFileException(path, number, $"not a JSON object: {e.Message}");
            }
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new DataFileException(path, number, $"not a JSON object {shape}");
                foreach (var property in root.EnumerateObject())
                {
                    if (!fields.Contains(property.Name))
                        throw new DataFileException(path, number, $"unknown field '{property.Name}' (only {only})");
                    if (property.Value.ValueKind != JsonValueKind.String)
                        throw new DataFileException(path, number, $"\"{property.Name}\" must be a string");
                }
                records.Add(parse(new JsonlRecord(root, path, number)));
            }
        }
        if (records.Count == 0) throw new DataFileException(path, 0, $"the file holds no {plural}");
        return records;
    }
}

/// <summary>One checked line of a JSONL data file (every field present is a known string), for the caller's parse.</summary>
internal readonly struct JsonlRecord(JsonElement root, string path, int line)
{
    /// <summary>The string value of <paramref name="field"/>, or null when the line lacks it.</summary>
    public string? Text(string field) => root.TryGetProperty(field, out var value) ? value.GetString() : null;

    /// <summary>The error refusing this line for <paramref name="reason"/> (to throw).</summary>
    public DataFileException Fail(string reason) => new(path, line, reason);
}
