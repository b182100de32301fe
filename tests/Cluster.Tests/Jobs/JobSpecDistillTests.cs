using System.Text.Json.Nodes;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The distill section's teacher-decoding fields: defaults, given values written back, bad ones refused naming the field.</summary>
public sealed class JobSpecDistillTests
{
    private static string Distill(string section) => JobSpecParserTests.Valid(s =>
    {
        s["kind"] = "distill";
        s["distill"] = JsonNode.Parse(section);
    });

    [Fact]
    public void TheTeacherDecodes_Greedily_64TokensAtMost_ByDefault()
    {
        var distill = JobSpecParser.Parse(Distill("""{"teacher": {"job": "t", "step": 2}}""")).Distill!;
        Assert.Equal((64, 0.0, 1.0), (distill.MaxTokens, distill.SampleTemperature, distill.TopP));
    }

    [Fact]
    public void GivenDecodingFields_AreReadAndWrittenBack()
    {
        var spec = JobSpecParser.Parse(Distill("""{"teacher": {"job": "t", "step": 2}, "max_tokens": 12, "sample_temperature": 0.7, "top_p": 0.9}"""));
        Assert.Equal((12, 0.7, 0.9), (spec.Distill!.MaxTokens, spec.Distill.SampleTemperature, spec.Distill.TopP));
        var written = JobSpecParser.ToJson(spec);
        Assert.Equal(spec, JobSpecParser.Parse(written));
        Assert.Equal(written, JobSpecParser.ToJson(JobSpecParser.Parse(written)));
    }

    [Theory]
    [InlineData("""{"teacher": {"job": "t", "step": 2}, "max_tokens": 0}""", "distill.max_tokens: must be at least 1")]
    [InlineData("""{"teacher": {"job": "t", "step": 2}, "sample_temperature": -1}""", "distill.sample_temperature: must be 0 (greedy) or a finite positive number")]
    [InlineData("""{"teacher": {"job": "t", "step": 2}, "top_p": 0}""", "distill.top_p: must be in (0, 1]")]
    [InlineData("""{"teacher": {"job": "t", "step": 2}, "top_p": 1.5}""", "distill.top_p: must be in (0, 1]")]
    [InlineData("""{"teacher": {"job": "t", "step": 2}, "top_k": 5}""", "distill.top_k: unknown field")]
    public void BadDecodingFields_AreRefusedNamingTheField(string section, string expected)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Distill(section)));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }
}
