using System.Text.Json;

namespace Orchestrator.Silo.Generation;

/// <summary>
/// Reads <c>generate --prompts</c>: a <c>.jsonl</c> file holds one JSON value a line, a string or an object with a
/// <c>"prompt"</c> string; any other file holds one prompt a line. Blank lines are skipped.
/// </summary>
public static class PromptFile
{
    /// <summary>The prompts of <paramref name="path"/>; errors name the option, the file and the line.</summary>
    public static IReadOnlyList<string> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"--prompts: no file '{Path.GetFullPath(path)}'");
        var jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        var prompts = new List<string>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            prompts.Add(jsonl ? FromJson(line, path, number) : line);
        }
        if (prompts.Count == 0) throw new InvalidDataException($"--prompts: '{path}' holds no prompt");
        return prompts;
    }

    private static string FromJson(string line, string path, int number)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.String) return root.GetString()!;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("prompt", out var prompt) && prompt.ValueKind == JsonValueKind.String)
                return prompt.GetString()!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"--prompts: {path} line {number}: not JSON ({e.Message})");
        }
        throw new InvalidDataException($"--prompts: {path} line {number}: expected a JSON string or an object with a \"prompt\" string");
    }
}
