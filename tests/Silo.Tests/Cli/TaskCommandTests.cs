using System.Text.Json;

namespace Orchestrator.Silo.Tests.Cli;

public sealed class TaskCommandTests
{
    [Fact]
    public async Task TaskArithmetic_WritesSeededNonOverlappingSplits()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"arith-{Guid.NewGuid():N}");
        var again = folder + "-again";
        try
        {
            var result = await CliProcess.Run("task", "arithmetic", "--out", folder, "--train", "60", "--test", "20", "--seed", "9");
            Assert.Equal(0, result.ExitCode);
            Assert.Equal(0, (await CliProcess.Run("task", "arithmetic", "--out", again, "--train", "60", "--test", "20", "--seed", "9")).ExitCode);

            var train = Prompts(Path.Combine(folder, "train-prompts.jsonl"));
            var test = Prompts(Path.Combine(folder, "test-prompts.jsonl"));
            Assert.Equal(60, train.Count);
            Assert.Equal(20, test.Count);
            Assert.Empty(train.Intersect(test));
            Assert.Equal(60, File.ReadAllLines(Path.Combine(folder, "train-sft.jsonl")).Length);
            foreach (var name in new[] { "train-prompts.jsonl", "test-prompts.jsonl", "train-sft.jsonl", "train-corpus.txt" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(folder, name)), File.ReadAllBytes(Path.Combine(again, name))); // the same seed, the same bytes
        }
        finally
        {
            foreach (var f in new[] { folder, again }) if (Directory.Exists(f)) Directory.Delete(f, true);
        }
    }

    [Fact]
    public async Task TaskArithmetic_RefusesBadSizesNamingTheOption()
    {
        var result = await CliProcess.Run("task", "arithmetic", "--out", Path.GetTempPath(), "--train", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--train", result.Error, StringComparison.Ordinal);
    }

    private static List<string> Prompts(string path) =>
        File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!).ToList();
}
