using System.Text.Json.Nodes;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>The README's first command, as a user runs it: the real executable, embedded defaults.</summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orchestrator-demo-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Demo_OnEmbeddedDefaults_TrainsTheTinyJobThroughItsSilo_ToTheLastStep()
    {
        var summary = Path.Combine(_dir, "summary.json");

        var result = await CliProcess.Run(TimeSpan.FromMinutes(4), "demo", "--steps", "3", "--seconds", "180", "--work-dir", _dir, "--summary-json", summary);

        Assert.True(result.ExitCode == 0, result.All);
        var run = JsonNode.Parse(await File.ReadAllTextAsync(summary))!;
        Assert.Equal(3, (long)run["steps"]!);
        Assert.True(double.IsFinite((double)run["loss_last"]!), result.All);
        Assert.True(File.Exists(Path.Combine(_dir, "index.db")), "the demo's SQLite index");
    }

    [Fact]
    public async Task Demo_WithAnUnusableDeviceList_SaysWhichOption_AndExitsWith2()
    {
        var result = await CliProcess.Run("demo", "--devices", "tpu:3", "--work-dir", _dir);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--devices", result.Error, StringComparison.Ordinal);
    }
}
