using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Orchestrator.Kernels.Tasks;

/// <summary>
/// Writes an arithmetic task's splits: prompt/answer JSONL per split (<c>{"prompt", "answer"}</c>, for rollouts and
/// evaluation), SFT JSONL of the training split (<c>{"prompt", "response"}</c>, the response in the R1 format), and
/// the training split as one plain-text document in the chat template (a pretraining corpus for <c>prepare-data</c>).
/// </summary>
public static class ArithmeticFiles
{
    /// <summary>Prompt/answer lines of the training split.</summary>
    public const string TrainPrompts = "train-prompts.jsonl";

    /// <summary>Prompt/answer lines of the held-out split.</summary>
    public const string TestPrompts = "test-prompts.jsonl";

    /// <summary>SFT lines (prompt/response) of the training split.</summary>
    public const string TrainSft = "train-sft.jsonl";

    /// <summary>The training split as text, one example a line, in the chat template.</summary>
    public const string TrainCorpus = "train-corpus.txt";

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the four files into <paramref name="directory"/> (created if missing); returns their paths.</summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<ArithmeticProblem> train, IReadOnlyList<ArithmeticProblem> test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        Directory.CreateDirectory(directory);
        var files = new[] { TrainPrompts, TestPrompts, TrainSft, TrainCorpus }.Select(f => Path.Combine(directory, f)).ToArray();
        WriteLines(files[0], train.Select(PromptLine));
        WriteLines(files[1], test.Select(PromptLine));
        WriteLines(files[2], train.Select(p => Line(new() { ["prompt"] = p.Question, ["response"] = p.Response })));
        WriteLines(files[3], train.Select(p => R1Format.Prompt(p.Question) + p.Response));
        return files;
    }

    /// <summary>Reads a prompt/answer JSONL file back as (prompt, answer) pairs.</summary>
    public static IReadOnlyList<(string Prompt, decimal Answer)> ReadPrompts(string path)
    {
        var result = new List<(string, decimal)>();
        foreach (var line in File.ReadLines(path))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            result.Add((root.GetProperty("prompt").GetString()!, decimal.Parse(root.GetProperty("answer").GetString()!, System.Globalization.CultureInfo.InvariantCulture)));
        }
        return result;
    }

    private static string PromptLine(ArithmeticProblem p) => Line(new() { ["prompt"] = p.Question, ["answer"] = p.AnswerText });

    private static string Line(Dictionary<string, string> fields) => JsonSerializer.Serialize(fields, Json);

    private static void WriteLines(string path, IEnumerable<string> lines)
    {
        var temporary = path + ".tmp";
        File.WriteAllLines(temporary, lines, new UTF8Encoding(false));
        File.Move(temporary, path, overwrite: true);
    }
}
