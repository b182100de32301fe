using System.Text.Json;
using Orchestrator.Kernels.Data;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>A checkpoint written by a short <c>train</c> run, shared by the <see cref="GenerateCommandTests"/>.</summary>
public sealed class TrainedCheckpoint : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "orch-gen-" + Guid.NewGuid().ToString("N"));

    /// <summary>The --checkpoint-dir of the run (its latest is step 40).</summary>
    public string Root => Path.Combine(Directory, "ckpt");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var config = Path.Combine(Directory, "micro.json");
        File.WriteAllText(config, File.ReadAllText(RepositoryFiles.Config("tiny.json"))
            .Replace("\"dim\": 128", "\"dim\": 32", StringComparison.Ordinal)
            .Replace("\"inter_dim\": 384", "\"inter_dim\": 64", StringComparison.Ordinal)
            .Replace("\"moe_inter_dim\": 64", "\"moe_inter_dim\": 16", StringComparison.Ordinal)
            .Replace("\"n_routed_experts\": 64", "\"n_routed_experts\": 16", StringComparison.Ordinal)
            .Replace("\"seq_len\": 128", "\"seq_len\": 32", StringComparison.Ordinal)
            .Replace("\"micro_batch_size\": 8", "\"micro_batch_size\": 4", StringComparison.Ordinal));
        var corpus = DemoCorpus.Write(Path.Combine(Directory, "corpus"), 60_000, seed: 5);
        var data = Path.Combine(Directory, "data");
        var prepared = await CliProcess.Run(["prepare-data", "--input", .. corpus, "--tokenizer", "bytes", "--out", data]);
        Assert.True(prepared.ExitCode == 0, prepared.All);
        var trained = await CliProcess.Run("train", "-c", config, "-d", data, "--steps", "40", "--checkpoint-dir", Root, "--checkpoint-every", "20");
        Assert.True(trained.ExitCode == 0, trained.All);
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary><c>orchestrator generate</c> end to end on a checkpoint of <c>train</c>, through the real executable.</summary>
public sealed class GenerateCommandTests(TrainedCheckpoint checkpoint) : IClassFixture<TrainedCheckpoint>
{
    private static readonly string[] TwoPrompts = ["--prompt", "The cat", "--prompt", "A long prompt about the weather"];

    private Task<JsonDocument> Json(params string[] args) => JsonAt(checkpoint.Root, args);

    private static async Task<JsonDocument> JsonAt(string folder, params string[] args)
    {
        var result = await CliProcess.Run(["generate", "--checkpoint", folder, "--json", .. args]);
        Assert.True(result.ExitCode == 0, result.All);
        return JsonDocument.Parse(result.Output);
    }

    private static int[][] Tokens(JsonDocument json) => json.RootElement.GetProperty("completions").EnumerateArray()
        .Select(c => c.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();

    [Fact]
    public async Task Generate_PrintsEachCompletion_AndATokensPerSecondLine()
    {
        var result = await CliProcess.Run(["generate", "--checkpoint", checkpoint.Root, .. TwoPrompts, "--max-tokens", "12"]);

        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("[1] The cat", result.Output, StringComparison.Ordinal);
        Assert.Contains("[2] A long prompt about the weather", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"24 tokens in [0-9.]+ s: [0-9.]+ tokens/s \(latent cache, 2 prompts", result.Output);
    }

    [Fact]
    public async Task Cached_NoCache_AndSpeculative_GiveTheSameGreedyTokens_AndSpeculativeReportsAcceptance()
    {
        using var cached = await Json([.. TwoPrompts, "--max-tokens", "20"]);
        using var recomputed = await Json([.. TwoPrompts, "--max-tokens", "20", "--no-cache"]);
        using var speculative = await Json([.. TwoPrompts, "--max-tokens", "20", "--speculative"]);

        Assert.Equal(Tokens(cached), Tokens(recomputed));
        Assert.Equal(Tokens(cached), Tokens(speculative));
        Assert.All(Tokens(cached), t => Assert.Equal(20, t.Length));
        Assert.Equal("speculative (MTP)", speculative.RootElement.GetProperty("mode").GetString());
        Assert.True(speculative.RootElement.GetProperty("drafted").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Number, speculative.RootElement.GetProperty("acceptance").ValueKind);
        Assert.True(cached.RootElement.GetProperty("tokens_per_s").GetDouble() > 0);
    }

    [Fact]
    public async Task Sampling_IsSeeded_AndStopStringsCutTheText()
    {
        string[] sampling = ["--prompt", "The cat", "--max-tokens", "30", "--temperature", "1.0", "--top-p", "0.9"];
        using var first = await Json([.. sampling, "--seed", "7"]);
        using var again = await Json([.. sampling, "--seed", "7"]);
        Assert.Equal(Tokens(first), Tokens(again));

        var text = first.RootElement.GetProperty("completions")[0].GetProperty("text").GetString()!;
        var stop = text.Substring(12, 2);
        using var stopped = await Json([.. sampling, "--seed", "7", "--stop", stop]);
        var completion = stopped.RootElement.GetProperty("completions")[0];
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], completion.GetProperty("text").GetString());
        Assert.Equal("stop", completion.GetProperty("finish").GetString());
    }

    [Fact]
    public async Task PromptFiles_OneALine_OrJsonl_GiveTheSameCompletions_AsTheOptions()
    {
        var lines = Path.Combine(checkpoint.Directory, "prompts.txt");
        File.WriteAllLines(lines, ["The cat", "", "A long prompt about the weather"]);
        var jsonl = Path.Combine(checkpoint.Directory, "prompts.jsonl");
        File.WriteAllLines(jsonl, ["{\"prompt\": \"The cat\", \"id\": 1}", "\"A long prompt about the weather\""]);

        using var options = await Json([.. TwoPrompts, "--max-tokens", "8"]);
        using var fromLines = await Json("--prompts", lines, "--max-tokens", "8");
        using var fromJsonl = await JsonAt(Path.Combine(checkpoint.Root, "step-00000040"), "--prompts", jsonl, "--max-tokens", "8");

        Assert.Equal(Tokens(options), Tokens(fromLines));
        Assert.Equal(Tokens(options), Tokens(fromJsonl));
    }

    [Theory]
    [InlineData("--checkpoint", "--checkpoint", "/nonexistent/ckpt")]
    [InlineData("--max-tokens", "--max-tokens", "ten")]
    [InlineData("--max-tokens", "--max-tokens", "0")]
    [InlineData("--max-tokens", "--max-tokens", "100000")]
    [InlineData("--temperature", "--temperature", "-0.5")]
    [InlineData("--temperature", "--temperature", "warm")]
    [InlineData("--top-p", "--top-p", "1.5")]
    [InlineData("--seed", "--seed", "-3")]
    [InlineData("--tokenizer", "--tokenizer", "sentencepiece")]
    [InlineData("--speculative", "--speculative", "--temperature=0.7")]
    public async Task BadInput_ExitsWith2_NamingWhatIsWrong(string named, string option, string value)
    {
        string[] args = option == "--checkpoint"
            ? ["generate", "--prompt", "x", option, value]
            : ["generate", "--checkpoint", checkpoint.Root, "--prompt", "x", option, value];

        var result = await CliProcess.Run(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoPrompt_ABadPromptFile_AndAFolderWithoutACheckpoint_ExitWith2()
    {
        var none = await CliProcess.Run("generate", "--checkpoint", checkpoint.Root);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("--prompt", none.Error, StringComparison.Ordinal);

        var bad = Path.Combine(checkpoint.Directory, "bad.jsonl");
        File.WriteAllLines(bad, ["{\"prompt\": \"ok\"}", "{\"text\": \"no prompt field\"}"]);
        var badFile = await CliProcess.Run("generate", "--checkpoint", checkpoint.Root, "--prompts", bad);
        Assert.Equal(2, badFile.ExitCode);
        Assert.Contains("line 2", badFile.Error, StringComparison.Ordinal);

        var empty = Path.Combine(checkpoint.Directory, "empty-folder");
        Directory.CreateDirectory(empty);
        var noCheckpoint = await CliProcess.Run("generate", "--checkpoint", empty, "--prompt", "x");
        Assert.Equal(2, noCheckpoint.ExitCode);
        Assert.Contains("holds no checkpoint", noCheckpoint.Error, StringComparison.Ordinal);
    }
}
