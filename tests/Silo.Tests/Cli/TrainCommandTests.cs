using System.Text.Json;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>prepare-data → train → resume, through the real executable.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "orch-cli-" + Guid.NewGuid().ToString("N"));

    private string MicroConfig()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "micro.json");
        var json = File.ReadAllText(RepositoryFiles.Config("tiny.json"))
            .Replace("\"dim\": 128", "\"dim\": 32", StringComparison.Ordinal)
            .Replace("\"inter_dim\": 384", "\"inter_dim\": 64", StringComparison.Ordinal)
            .Replace("\"moe_inter_dim\": 64", "\"moe_inter_dim\": 16", StringComparison.Ordinal)
            .Replace("\"n_routed_experts\": 64", "\"n_routed_experts\": 16", StringComparison.Ordinal)
            .Replace("\"seq_len\": 128", "\"seq_len\": 32", StringComparison.Ordinal)
            .Replace("\"micro_batch_size\": 8", "\"micro_batch_size\": 4", StringComparison.Ordinal)
            .Replace("\"threads\": 2", "\"threads\": 1", StringComparison.Ordinal);
        File.WriteAllText(path, json);
        return path;
    }

    private async Task<string> PrepareData()
    {
        var corpus = DemoCorpus.Write(Path.Combine(_dir, "corpus"), 150_000, seed: 3);
        var data = Path.Combine(_dir, "data");
        var result = await CliProcess.Run(["prepare-data", "--input", .. corpus, "--tokenizer", "bytes", "--out", data]);
        Assert.True(result.ExitCode == 0, result.All);
        return data;
    }

    private static double[] Losses(string summaryPath)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(summaryPath));
        return json.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    [Fact]
    public async Task TrainStoppedAndResumed_GivesBitIdenticalLosses_AndTheSummaryHasItsFields()
    {
        var config = MicroConfig();
        var data = await PrepareData();

        var straight = Path.Combine(_dir, "straight.json");
        var run = await CliProcess.Run("train", "--config", config, "--data", data, "--steps", "6", "--summary-json", straight);
        Assert.True(run.ExitCode == 0, run.All);

        var checkpoints = Path.Combine(_dir, "ckpt");
        var first = await CliProcess.Run("train", "-c", config, "-d", data, "--steps", "3", "--checkpoint-dir", checkpoints, "--checkpoint-every", "3");
        Assert.True(first.ExitCode == 0, first.All);
        var resumed = Path.Combine(_dir, "resumed.json");
        var second = await CliProcess.Run("train", "-c", config, "-d", data, "--steps", "6", "--checkpoint-dir", checkpoints, "--resume", "--summary-json", resumed);
        Assert.True(second.ExitCode == 0, second.All);

        Assert.Equal(Losses(straight)[3..], Losses(resumed));
        using var summary = JsonDocument.Parse(File.ReadAllText(resumed));
        foreach (var field in new[] { "steps", "loss_first", "loss_last", "tokens_per_second", "max_vio_last", "params_total", "params_active" })
            Assert.True(summary.RootElement.TryGetProperty(field, out _), $"summary lacks {field}");
        Assert.Equal(6, summary.RootElement.GetProperty("steps").GetInt64());
        Assert.Equal(3, summary.RootElement.GetProperty("resumed_from_step").GetInt64());
    }

    [Fact]
    public async Task PrepareData_WithUnknownTokenizer_NamesTheChoices()
    {
        var result = await CliProcess.Run("prepare-data", "--input", "x.txt", "--tokenizer", "sentencepiece", "--out", _dir);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("gpt2", result.All, StringComparison.Ordinal);
        Assert.Contains("bytes", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_WithMissingData_SaysWhatIsMissing()
    {
        var result = await CliProcess.Run("train", "-c", RepositoryFiles.Config("tiny.json"), "-d", Path.Combine(_dir, "nothing"), "--steps", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("nothing", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_WithAnExternalLibTorchFolder_Trains_AndABadFolderIsRefused()
    {
        var config = MicroConfig();
        var data = await PrepareData();
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var libtorch = Path.Combine(packages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");
        Assert.True(Directory.Exists(libtorch), $"expected the restored libtorch package at {libtorch}");

        // As on a GPU node: an application folder without the bundled libtorch, and libtorch from elsewhere.
        var app = Path.Combine(_dir, "app");
        CopyWithoutBundledLibTorch(AppContext.BaseDirectory, app);
        var good = await CliProcess.RunFrom(app, TimeSpan.FromMinutes(5), "train", "-c", config, "-d", data, "--steps", "1", "--libtorch", libtorch);
        Assert.True(good.ExitCode == 0, good.All);
        Assert.Contains($"libtorch: {libtorch}", good.All, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(app, "cpu")), "TorchSharp fell back to copying the package's natives");

        var bad = await CliProcess.Run("train", "-c", config, "-d", data, "--steps", "1", "--libtorch", Path.Combine(_dir, "no-libtorch"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("no-libtorch", bad.Error, StringComparison.Ordinal);
    }

    private static void CopyWithoutBundledLibTorch(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var name = Path.GetFileName(file);
            var bundled = relative.StartsWith("runtimes", StringComparison.Ordinal) && name != "libLibTorchSharp.so";
            if (bundled) continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        // libLibTorchSharp.so stays beside the application, where LibTorchRuntime looks for it.
        File.Copy(Path.Combine(from, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), Path.Combine(to, "libLibTorchSharp.so"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
