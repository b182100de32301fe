namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// A prompt set for rollouts (grpo) or a teacher (distill): JSONL, one object a line with a non-empty string
/// <c>prompt</c> and a string <c>answer</c> (the verifier's expected answer; required when <c>requireAnswer</c>), nothing
/// else. Every line is checked (<see cref="JsonlRecords"/>); the first bad one is refused naming its line number.
/// </summary>
public static class PromptSet
{
    private static readonly string[] Fields = ["prompt", "answer"];

    /// <summary>The (prompt, answer) pairs of <paramref name="path"/>; throws <see cref="DataFileException"/> for a missing or empty file or a bad line.</summary>
    public static IReadOnlyList<(string Prompt, string? Answer)> Load(string path, bool requireAnswer) =>
        JsonlRecords.Read(path, "a prompt set", "prompts", Fields, record =>
        {
            var prompt = record.Text("prompt");
            if (string.IsNullOrEmpty(prompt)) throw record.Fail("missing or empty \"prompt\"");
            var answer = record.Text("answer");
            if (requireAnswer && string.IsNullOrWhiteSpace(answer))
                throw record.Fail("missing or empty \"answer\" (the verifier checks completions against it)");
            return (prompt, answer);
        });
}
