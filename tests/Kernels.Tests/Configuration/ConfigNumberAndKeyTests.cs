using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Tests.Support;

namespace Orchestrator.Kernels.Tests.Configuration;

/// <summary>A config file (as <c>train --config</c> reads it) with a key given twice or a number past its type.</summary>
public sealed class ConfigNumberAndKeyTests
{
    private static string TinyJson => File.ReadAllText(RepositoryFiles.Config("tiny.json"));

    [Fact]
    public void ADuplicatedKey_IsRefused_NamingItsPath()
    {
        var json = TinyJson.Replace("\"dim\": 128", "\"dim\": 128, \"dim\": 256", StringComparison.Ordinal);
        Assert.NotEqual(TinyJson, json);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "tiny.json"));

        Assert.Equal([$"model.dim: {DuplicateKeys.Reason}"], error.Problems);
    }

    [Theory]
    [InlineData("\"n_heads\": 4", "\"n_heads\": 2147483648", "model.n_heads: out of range: 2147483648 is not between -2147483648 and 2147483647")]
    [InlineData("\"seed\": 1234", "\"seed\": -1", "training.seed: out of range: -1 is not between 0 and 18446744073709551615")]
    [InlineData("\"n_heads\": 4", "\"n_heads\": 4.5", "model.n_heads: must be a whole number (got 4.5)")]
    public void ANumberAnIntegerFieldCannotHold_IsRefused_SayingWhy(string original, string replacement, string expected)
    {
        var json = TinyJson.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(TinyJson, json);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json));

        Assert.Equal([expected], error.Problems);
    }

    [Fact]
    public void TheWrittenConfig_ReadsBackEqual_WithTheIntegerReaders()
    {
        var config = ConfigLoader.Parse(TinyJson);

        Assert.Equal(ConfigLoader.ToJson(config), ConfigLoader.ToJson(ConfigLoader.Parse(ConfigLoader.ToJson(config))));
        Assert.Equal(config.Model, ConfigLoader.Parse(ConfigLoader.ToJson(config)).Model);
    }
}
