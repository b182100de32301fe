using System.Text.Json;

namespace Orchestrator.Silo.Tests.Cli;

public sealed class ModelInfoCommandTests
{
    [Fact]
    public async Task ModelInfo_On671BConfig_Prints671BTotalAnd37BActivated()
    {
        var result = await CliProcess.Run("model-info", "--config", RepositoryFiles.Config("deepseek-v3-671b.json"), "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var total = json.RootElement.GetProperty("params_total").GetInt64();
        var active = json.RootElement.GetProperty("params_active").GetInt64();
        Assert.InRange(total, 671e9 * 0.99, 671e9 * 1.01);
        Assert.Equal(37, Math.Round(active / 1e9));
    }

    [Fact]
    public async Task ModelInfo_OnTinyConfig_PrintsATable()
    {
        var result = await CliProcess.Run("model-info", "-c", RepositoryFiles.Config("tiny.json"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("activated per token", result.Output, StringComparison.Ordinal);
        Assert.Contains("3,579,296", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelInfo_OnInconsistentConfig_ExitsWithTheFieldNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, File.ReadAllText(RepositoryFiles.Config("tiny.json")).Replace("\"n_activated_experts\": 6", "\"n_activated_experts\": 99", StringComparison.Ordinal));
        try
        {
            var result = await CliProcess.Run("model-info", "-c", path);

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("model.n_activated_experts", result.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.All, StringComparison.Ordinal); // a message, not a stack trace
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("model-info")]
    [InlineData("prepare-data")]
    [InlineData("task")]
    [InlineData("train")]
    [InlineData("demo")]
    [InlineData("silo")]
    [InlineData("submit")]
    [InlineData("jobs")]
    [InlineData("job")]
    [InlineData("cancel")]
    [InlineData("checkpoints")]
    [InlineData("restore")]
    public async Task EveryCommand_HasHelp(string command)
    {
        var result = await CliProcess.Run(command, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Output, StringComparison.Ordinal);
        Assert.Contains(command, result.Output, StringComparison.Ordinal);
    }
}
