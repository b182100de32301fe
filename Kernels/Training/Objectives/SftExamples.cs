using System.Text.Json;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Tasks;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Reads SFT data: JSONL, one object a line with exactly the string fields <c>prompt</c> and <c>response</c> (non-empty),
/// tokenised as <see cref="R1Format.Prompt"/>(prompt) + response + end-of-text. Every line is checked before anything
/// is used; the first bad one is refused naming its line number.
/// </summary>
public static class SftExamples
{
    /// <summary>
    /// The examples of <paramref name="path"/>, each at most <paramref name="maxTokens"/> tokens long (a packed row);
    /// throws <see cref="SftDataException"/> for a missing or empty file or the first malformed line.
    /// </summary>
    public static IReadOnlyList<SftExample> Load(string path, ITextTokenizer tokenizer, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (!File.Exists(path)) throw new SftDataException(path, 0, "no such file (SFT data is a JSONL file of {\"prompt\", \"response\"} lines)");
        var examples = new List<SftExample>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            var (prompt, response) = Fields(path, number, line);
            var promptTokens = tokenizer.Encode(R1Format.Prompt(prompt));
            var responseTokens = tokenizer.Encode(response);
            var tokens = new int[promptTokens.Length + responseTokens.Length + 1];
            promptTokens.CopyTo(tokens, 0);
            responseTokens.CopyTo(tokens, promptTokens.Length);
            tokens[^1] = tokenizer.EndOfText;
            if (tokens.Length > maxTokens)
                throw new SftDataException(path, number, $"the example is {tokens.Length} tokens, more than a row holds ({maxTokens} = training.seq_len + 1)");
            examples.Add(new SftExample(tokens, promptTokens.Length));
        }
        if (examples.Count == 0) throw new SftDataException(path, 0, "the file holds no examples");
        return examples;
    }

    private static (string Prompt, string Response) Fields(string path, int number, string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new SftDataException(path, number, $"not a JSON object: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new SftDataException(path, number, "not a JSON object {\"prompt\", \"response\"}");
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("prompt" or "response"))
                    throw new SftDataException(path, number, $"unknown field '{property.Name}' (only \"prompt\" and \"response\")");
            }
            return (Text(root, "prompt", path, number, allowEmpty: true), Text(root, "response", path, number, allowEmpty: false));
        }
    }

    private static string Text(JsonElement root, string field, string path, int number, bool allowEmpty)
    {
        if (!root.TryGetProperty(field, out var value)) throw new SftDataException(path, number, $"missing \"{field}\"");
        if (value.ValueKind != JsonValueKind.String) throw new SftDataException(path, number, $"\"{field}\" must be a string");
        var text = value.GetString()!;
        if (!allowEmpty && text.Length == 0) throw new SftDataException(path, number, $"\"{field}\" is empty");
        return text;
    }
}
