using System.Text.Json;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// A prompt set for rollouts (grpo) or a teacher (distill): JSONL, one object a line with a non-empty string
/// <c>prompt</c> and a string <c>answer</c> (the verifier's expected answer; required when <c>requireAnswer</c>), nothing
/// else. Every line is checked; the first bad one is refused naming its line number.
/// </summary>
public static class PromptSet
{
    /// <summary>The (prompt, answer) pairs of <paramref name="path"/>; throws <see cref="DataFileException"/> for a missing or empty file or a bad line.</summary>
    public static IReadOnlyList<(string Prompt, string? Answer)> Load(string path, bool requireAnswer)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DataFileException(path, 0, "no such file (a prompt set is a JSONL file of {\"prompt\", \"answer\"} lines)");
        var prompts = new List<(string, string?)>();
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
                if (root.ValueKind != JsonValueKind.Object) throw new DataFileException(path, number, "not a JSON object {\"prompt\", \"answer\"}");
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Name is not ("prompt" or "answer"))
                        throw new DataFileException(path, number, $"unknown field '{property.Name}' (only \"prompt\" and \"answer\")");
                    if (property.Value.ValueKind != JsonValueKind.String)
                        throw new DataFileException(path, number, $"\"{property.Name}\" must be a string");
                }
                if (!root.TryGetProperty("prompt", out var prompt) || prompt.GetString()!.Length == 0)
                    throw new DataFileException(path, number, "missing or empty \"prompt\"");
                string? answer = root.TryGetProperty("answer", out var a) ? a.GetString() : null;
                if (requireAnswer && string.IsNullOrWhiteSpace(answer))
                    throw new DataFileException(path, number, "missing or empty \"answer\" (the verifier checks completions against it)");
                prompts.Add((prompt.GetString()!, answer));
            }
        }
        if (prompts.Count == 0) throw new DataFileException(path, 0, "the file holds no prompts");
        return prompts;
    }
}
