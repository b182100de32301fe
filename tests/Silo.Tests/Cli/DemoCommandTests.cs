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
    public async Task Demo_Summary_MatchesTheJobsStoredMetrics_AndNamesItsCommittedCheckpoint()
    {
        var summary = Path.Combine(_dir, "checked.json");

        var result = await CliProcess.Run(TimeSpan.FromMinutes(4), "demo", "--steps", "4", "--seconds", "180", "--no-dashboard", "--work-dir", _dir, "--summary-json", summary);

        Assert.True(result.ExitCode == 0, result.All);
        var run = JsonNode.Parse(await File.ReadAllTextAsync(summary))!;
        await using var store = await Orchestrator.Grains.Storage.SqliteMetadataStore.OpenAsync(Path.Combine(_dir, "index.db"));
        var job = Assert.Single(await store.ListJobsAsync());
        var metrics = await store.QueryMetricsAsync(job.Id, Orchestrator.Grains.Storage.MetricQuery.All);
        var losses = metrics.Where(m => m.Name == "loss").OrderBy(m => m.Step).Select(m => m.Value).ToArray();
        var stepSeconds = metrics.Where(m => m.Name == "step_ms").Sum(m => m.Value) / 1000;

        Assert.Equal(losses, run["losses"]!.AsArray().Select(l => (double)l!));
        Assert.Equal(4, (long)run["steps_this_run"]!);
        Assert.Equal(4L * 128 * 8, (long)run["tokens_seen"]!); // tiny.json: seq_len 128 × micro-batch 8, one rank
        Assert.Equal(4L * 128 * 8 / stepSeconds, (double)run["tokens_per_second"]!, 6);
        Assert.InRange((double)run["seconds"]!, stepSeconds, 180);
        var checkpoint = Assert.Single(await store.ListCheckpointsAsync(job.Id));
        Assert.Equal(4, checkpoint.Step);
        var folder = (string)run["last_checkpoint"]!;
        Assert.Equal(Path.Combine(_dir, "checkpoints", job.Id, "00000004"), folder);
        Assert.True(Directory.EnumerateFiles(folder, "*.ota").Any(), folder);
        Assert.Contains("Last checkpoint: " + folder, result.All, StringComparison.Ordinal);
        Assert.DoesNotContain("step 0 loss NaN", result.All, StringComparison.Ordinal);
        Assert.DoesNotContain("ServerGC", result.All, StringComparison.Ordinal);

        // The windowed MaxVio of each step: the stored loads of the steps up to it (all four: the window is 8) summed,
        // MaxVio of the sums, the worst layer — in the index, in the summary, and on the Done line.
        var loads = await store.QueryExpertLoadsAsync(job.Id, 1, 4);
        var expected = Enumerable.Range(1, 4).Select(step => loads.Where(l => l.Step <= step).GroupBy(l => l.Layer)
            .Max(layer => Orchestrator.Kernels.Balancing.ExpertBalance.MaxViolation(layer.Aggregate(new long[layer.First().Loads.Count],
                (sum, l) => [.. sum.Zip(l.Loads, (a, b) => a + b)])))).ToArray();
        var stored = metrics.Where(m => m.Name == "max_vio_window").OrderBy(m => m.Step).Select(m => m.Value).ToArray();
        Assert.Equal(expected, stored);
        Assert.Equal(stored, run["max_vio_window"]!.AsArray().Select(v => (double)v!));
        Assert.Equal(stored[^1], (double)run["max_vio_window_last"]!);
        Assert.Contains($"(last 8 steps {stored[^1]:F3})", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WithTwoExpertParallelRanks_OnCpuSlots_TrainsThroughGrainCalls_AndSaysSoPerRank()
    {
        var summary = Path.Combine(_dir, "ep2.json");

        var result = await CliProcess.Run(TimeSpan.FromMinutes(4), "demo", "--devices", "cpu:2", "--ep", "2", "--steps", "2", "--seconds", "180",
            "--no-dashboard", "--work-dir", _dir, "--summary-json", summary);

        Assert.True(result.ExitCode == 0, result.All);
        var run = JsonNode.Parse(await File.ReadAllTextAsync(summary))!;
        Assert.Equal(2, (long)run["steps"]!);
        var ranks = run["ranks"]!.AsArray();
        Assert.Equal([0, 1], ranks.Select(r => (int)r!["rank"]!));
        Assert.Equal(["cpu:0", "cpu:1"], ranks.Select(r => (string)r!["device"]!));
        Assert.All(ranks, r => Assert.Equal("grains", (string)r!["data_plane"]!));
        Assert.Contains("data plane: grains", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_AskingForNccl_OnCpuSlots_FailsTheJob_SayingWhy()
    {
        var result = await CliProcess.Run(TimeSpan.FromMinutes(4), "demo", "--devices", "cpu:2", "--ep", "2", "--data-plane", "nccl", "--steps", "2",
            "--seconds", "120", "--no-dashboard", "--work-dir", _dir);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("data_plane nccl: rank 0 is on cpu:0", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_AskingForNccl_OnGpuSlotsWithoutLibnccl_FailsTheJob_AfterTheRanksAgreedOverGrainCalls()
    {
        // This machine has no GPU and no libnccl: the slots are only names, so the ranks get as far as the
        // data-plane agreement (an all-gather of "libnccl loaded" over grain calls) and fail together with its reason.
        var result = await CliProcess.Run(TimeSpan.FromMinutes(4), "demo", "--devices", "cuda:0-1", "--ep", "2", "--data-plane", "nccl", "--steps", "2",
            "--seconds", "120", "--no-dashboard", "--work-dir", _dir);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("data_plane nccl: libnccl did not load on ranks 0, 1", result.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--ep", "2", "--devices")] // two ranks, one slot (cpu:1)
    [InlineData("--ep", "0", "--ep")]
    [InlineData("--data-plane", "rdma", "--data-plane")]
    public async Task Demo_WithAnImpossibleRankLayout_SaysWhichOption_AndExitsWith2(string option, string value, string named)
    {
        var result = await CliProcess.Run("demo", option, value, "--work-dir", _dir);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WithAnUnusableDeviceList_SaysWhichOption_AndExitsWith2()
    {
        var result = await CliProcess.Run("demo", "--devices", "tpu:3", "--work-dir", _dir);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--devices", result.Error, StringComparison.Ordinal);
    }
}
