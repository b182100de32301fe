using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Tasks;
using Orchestrator.Kernels.Tests.Data;
using Orchestrator.Kernels.Training.Objectives;

namespace Orchestrator.Kernels.Tests.Training.Objectives;

public sealed class SftExamplesTests
{
    private static readonly ByteTokenizer Bytes = new();

    [Fact]
    public void Load_TemplatesThePromptAndEndsTheResponse()
    {
        using var folder = new TempFolder();
        var path = folder.WriteText("a.jsonl", "{\"prompt\": \"1+1?\", \"response\": \"<think>1+1=2</think><answer>2</answer>\"}\n");
        var example = Assert.Single(SftExamples.Load(path, Bytes, 200));
        var prompt = Bytes.Encode(R1Format.Prompt("1+1?"));
        Assert.Equal(prompt.Length, example.PromptLength);
        Assert.Equal([.. prompt, .. Bytes.Encode("<think>1+1=2</think><answer>2</answer>"), Bytes.EndOfText], example.Tokens);
    }

    [Theory]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\nnot json\n", 2, "not a JSON object")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\"}\n", 2, "missing \"response\"")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"\"}\n", 1, "\"response\" is empty")]
    [InlineData("{\"prompt\": 3, \"response\": \"b\"}\n", 1, "\"prompt\" must be a string")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\", \"answer\": \"2\"}\n", 1, "unknown field 'answer'")]
    [InlineData("[1, 2]\n", 1, "not a JSON object")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\n\n", 2, "not a JSON object")]
    public void Load_RefusesTheFirstBadLineByNumber(string text, int line, string reason)
    {
        using var folder = new TempFolder();
        var path = folder.WriteText("bad.jsonl", text);
        var error = Assert.Throws<SftDataException>(() => SftExamples.Load(path, Bytes, 200));
        Assert.Equal(line, error.Line);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
        Assert.Contains($"line {line}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RefusesAMissingFileAnEmptyOneAndAnExampleLongerThanARow()
    {
        using var folder = new TempFolder();
        Assert.Equal(0, Assert.Throws<SftDataException>(() => SftExamples.Load(folder.Combine("none.jsonl"), Bytes, 200)).Line);
        Assert.Contains("no examples", Assert.Throws<SftDataException>(() => SftExamples.Load(folder.WriteText("e.jsonl", ""), Bytes, 200)).Reason, StringComparison.Ordinal);
        var path = folder.WriteText("long.jsonl", "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\", \"response\": \"" + new string('x', 300) + "\"}\n");
        var error = Assert.Throws<SftDataException>(() => SftExamples.Load(path, Bytes, 200));
        Assert.Equal(2, error.Line);
        Assert.Contains("seq_len", error.Reason, StringComparison.Ordinal);
    }
}
