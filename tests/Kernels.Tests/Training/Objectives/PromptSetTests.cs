using Orchestrator.Kernels.Tests.Data;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

public sealed class PromptSetTests
{
    [Fact]
    public void Load_ReadsPromptsAndAnswers()
    {
        using var folder = new TempFolder();
        var path = folder.WriteText("p.jsonl", "{\"prompt\": \"1+2?\", \"answer\": \"3\"}\n{\"prompt\": \"say hi\"}\n");
        Assert.Equal([("1+2?", "3"), ("say hi", null)], PromptSet.Load(path, requireAnswer: false));
    }

    [Theory]
    [InlineData("{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"prompt\": \"b\"}\n", true, 2, "missing or empty \"answer\"")]
    [InlineData("{\"prompt\": \"\", \"answer\": \"1\"}\n", false, 1, "missing or empty \"prompt\"")]
    [InlineData("{\"prompt\": \"a\", \"answer\": 1}\n", false, 1, "\"answer\" must be a string")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\n", false, 1, "unknown field 'response'")]
    [InlineData("{\"prompt\": \"a\"}\n{oops\n", false, 2, "not a JSON object")]
    public void Load_RefusesTheFirstBadLineByNumber(string text, bool requireAnswer, int line, string reason)
    {
        using var folder = new TempFolder();
        var error = Assert.Throws<DataFileException>(() => PromptSet.Load(folder.WriteText("p.jsonl", text), requireAnswer));
        Assert.Equal(line, error.Line);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RefusesAMissingOrEmptyFile()
    {
        using var folder = new TempFolder();
        Assert.Equal(0, Assert.Throws<DataFileException>(() => PromptSet.Load(folder.Combine("none.jsonl"), false)).Line);
        Assert.Contains("no prompts", Assert.Throws<DataFileException>(() => PromptSet.Load(folder.WriteText("e.jsonl", ""), false)).Reason, StringComparison.Ordinal);
    }
}
