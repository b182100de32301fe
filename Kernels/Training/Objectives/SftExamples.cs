using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Tasks;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// Reads SFT data: JSONL, one object a line with exactly the string fields <c>prompt</c> (may be empty) and
/// <c>response</c> (non-empty), tokenised as <see cref="R1Format.Prompt"/>(prompt) + response + end-of-text. Every line
/// is checked (<see cref="JsonlRecords"/>) before anything is used; the first bad one is refused naming its line number.
/// </summary>
public static class SftExamples
{
    private static readonly string[] Fields = ["prompt", "response"];

    /// <summary>
    /// The examples of <paramref name="path"/>, each at most <paramref name="maxTokens"/> tokens long (a packed row);
    /// throws <see cref="DataFileException"/> for a missing or empty file or the first malformed line.
    /// </summary>
    public static IReadOnlyList<SftExample> Load(string path, ITextTokenizer tokenizer, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return JsonlRecords.Read(path, "SFT data", "examples", Fields, record =>
        {
            var prompt = record.Text("prompt") ?? throw record.Fail("missing \"prompt\"");
            var response = record.Text("response") ?? throw record.Fail("missing \"response\"");
            if (response.Length == 0) throw record.Fail("\"response\" is empty");
            var promptTokens = tokenizer.Encode(R1Format.Prompt(prompt));
            var responseTokens = tokenizer.Encode(response);
            var tokens = new int[promptTokens.Length + responseTokens.Length + 1];
            promptTokens.CopyTo(tokens, 0);
            responseTokens.CopyTo(tokens, promptTokens.Length);
            tokens[^1] = tokenizer.EndOfText;
            if (tokens.Length > maxTokens)
                throw record.Fail($"the example is {tokens.Length} tokens, more than a row holds ({maxTokens} = training.seq_len + 1)");
            return new SftExample(tokens, promptTokens.Length);
        });
    }
}
