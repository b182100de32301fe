using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Tests.Support;

namespace Orchestrator.Kernels.Tests.Configuration;

public sealed class ConfigValidationTests
{
    private static string TinyJson => File.ReadAllText(RepositoryFiles.Config("tiny.json"));

    [Fact]
    public void ShippedConfigs_AllParse()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryFiles.Root, "deploy", "configs"), "*.json"))
            Assert.NotNull(ConfigLoader.LoadFile(file).Model);
    }

    [Theory]
    [InlineData("\"n_activated_experts\": 6", "\"n_activated_experts\": 65", "model.n_activated_experts")]
    [InlineData("\"dim\": 128", "\"dim\": 0", "model.dim")]
    [InlineData("\"n_expert_groups\": 8", "\"n_expert_groups\": 7", "model.n_expert_groups")]
    [InlineData("\"n_limited_groups\": 4", "\"n_limited_groups\": 9", "model.n_limited_groups")]
    [InlineData("\"n_dense_layers\": 1", "\"n_dense_layers\": 4", "model.n_dense_layers")]
    [InlineData("\"qk_rope_head_dim\": 16", "\"qk_rope_head_dim\": 15", "model.qk_rope_head_dim")]
    [InlineData("\"dtype\": \"float32\"", "\"dtype\": \"float16\"", "model.dtype")]
    [InlineData("\"dtype\": \"float32\"", "\"dtype\": \"float32\", \"grouped_experts\": \"always\"", "model.grouped_experts")]
    [InlineData("\"micro_batch_size\": 8", "\"micro_batch_size\": -1", "training.micro_batch_size")]
    [InlineData("\"min_lr\": 0.0002", "\"min_lr\": 0.5", "training.min_lr")]
    public void InconsistentValue_IsRejected_NamingTheField(string original, string replacement, string field)
    {
        var json = TinyJson.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(TinyJson, json);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "tiny.json"));

        Assert.Contains(error.Problems, p => p.StartsWith(field + ":", StringComparison.Ordinal));
        Assert.Contains("tiny.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownField_IsRejected_NamingIt()
    {
        var json = TinyJson.Replace("\"dim\": 128", "\"dim\": 128, \"n_headz\": 4", StringComparison.Ordinal);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json));

        Assert.Contains("n_headz", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongType_IsRejected_NamingTheField()
    {
        var json = TinyJson.Replace("\"n_heads\": 4", "\"n_heads\": \"four\"", StringComparison.Ordinal);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json));

        Assert.Contains("model.n_heads", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[1, 2]")]
    [InlineData("{\"training\": {}}")]
    public void MalformedDocument_IsRejected_WithAReason(string json)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "bad.json"));
        Assert.Contains("bad.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_IsRejected_NamingThePath()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile("/nonexistent/cfg.json"));
        Assert.Contains("/nonexistent/cfg.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_RoundTripsThroughJson()
    {
        var config = TinyModels.Shipped;
        Assert.Equal(config, ConfigLoader.Parse(ConfigLoader.ToJson(config)));
    }
}
