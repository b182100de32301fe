using System.Text.Json.Nodes;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The R1 kinds' sections: read with their defaults, written back unchanged, refused naming the field.</summary>
public sealed class JobSpecKindsTests
{
    private static string Valid(Action<JsonObject>? change = null) => JobSpecParserTests.Valid(change);

    private static string Kind(string kind, string section, Action<JsonObject>? change = null) => Valid(s =>
    {
        s["kind"] = kind;
        s[kind] = JsonNode.Parse(section);
        change?.Invoke(s);
    });

    [Fact]
    public void Sft_ReadsItsParentAndTokenizer_AndRoundTrips()
    {
        var spec = JobSpecParser.Parse(Kind("sft", """{"from_checkpoint": {"job": "pre", "step": 40}}"""));
        Assert.Equal(JobKind.Sft, spec.Kind);
        Assert.Equal(new SftSpec(new CheckpointSource("pre", 40), "bytes"), spec.Sft);
        Assert.Null(spec.Grpo);
        var written = JobSpecParser.ToJson(spec);
        Assert.Contains("\"kind\":\"sft\"", written, StringComparison.Ordinal);
        Assert.Equal(spec, JobSpecParser.Parse(written));
        Assert.Equal(written, JobSpecParser.ToJson(JobSpecParser.Parse(written)));
    }

    [Fact]
    public void Grpo_TakesTheDefaults_AndTheReferenceIsTheStartUnlessGiven()
    {
        var spec = JobSpecParser.Parse(Kind("grpo", """{"from_checkpoint": {"job": "sft", "step": 8}}"""));
        Assert.Equal(new GrpoSpec(new CheckpointSource("sft", 8), new CheckpointSource("sft", 8), 8, 0.04, 0.2, 1, "bytes"), spec.Grpo);
        var given = JobSpecParser.Parse(Kind("grpo",
            """{"from_checkpoint": {"job": "sft", "step": 8}, "reference": {"job": "pre", "step": 4}, "group_size": 16, "kl_coef": 0.001, "clip": 0.3, "passes": 2}"""));
        Assert.Equal(new GrpoSpec(new CheckpointSource("sft", 8), new CheckpointSource("pre", 4), 16, 0.001, 0.3, 2, "bytes"), given.Grpo);
        Assert.Equal(given, JobSpecParser.Parse(JobSpecParser.ToJson(given)));
        Assert.Equal((64, 1.0), (spec.Grpo!.MaxNewTokens, spec.Grpo.Temperature));
        var rollouts = JobSpecParser.Parse(Kind("grpo", """{"from_checkpoint": {"job": "sft", "step": 8}, "max_new_tokens": 160, "temperature": 0.7}"""));
        Assert.Equal((160, 0.7), (rollouts.Grpo!.MaxNewTokens, rollouts.Grpo.Temperature));
        Assert.Equal(rollouts, JobSpecParser.Parse(JobSpecParser.ToJson(rollouts)));
    }

    [Fact]
    public void Distill_ReadsTeacherTemperatureAndWeight_AndRoundTrips()
    {
        var spec = JobSpecParser.Parse(Kind("distill", """{"teacher": {"job": "grpo", "step": 20}, "temperature": 2, "logit_weight": 0.5}"""));
        Assert.Equal(new DistillSpec(new CheckpointSource("grpo", 20), 2, 0.5, "bytes"), spec.Distill);
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
    }

    [Theory]
    [InlineData("sft", """{}""", "sft.from_checkpoint: is required")]
    [InlineData("sft", """{"from_checkpoint": {"job": "pre"}}""", "sft.from_checkpoint.step: is required")]
    [InlineData("sft", """{"from_checkpoint": {"job": "Pre!", "step": 2}}""", "sft.from_checkpoint.job: 'Pre!' is not a job id")]
    [InlineData("sft", """{"from_checkpoint": {"job": "pre", "step": 2}, "tokenizer": "words"}""", "sft.tokenizer: 'words' is not a tokenizer")]
    [InlineData("sft", """{"from_checkpoint": {"job": "pre", "step": 2}, "lr": 1}""", "sft.lr: unknown field")]
    [InlineData("sft", """[1]""", "sft: must be an object")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "group_size": 1}""", "grpo.group_size: must be at least 2")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "clip": 1.5}""", "grpo.clip: must be between 0 and 1")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "kl_coef": -1}""", "grpo.kl_coef: must be a finite number, at least 0")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "passes": 0}""", "grpo.passes: must be at least 1")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "reference": 3}""", "grpo.reference: must be an object")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "max_new_tokens": 0}""", "grpo.max_new_tokens: must be at least 1")]
    [InlineData("grpo", """{"from_checkpoint": {"job": "s", "step": 2}, "temperature": 0}""", "grpo.temperature: rollouts are sampled")]
    [InlineData("distill", """{"temperature": 2}""", "distill.teacher: is required")]
    [InlineData("distill", """{"teacher": {"job": "t", "step": 2}, "temperature": 0}""", "distill.temperature: must be a finite number greater than 0")]
    [InlineData("distill", """{"teacher": {"job": "t", "step": 2}, "logit_weight": -0.5}""", "distill.logit_weight: must be a finite number, at least 0")]
    public void ABadSection_IsRefused_NamingTheField(string kind, string section, string expected)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Kind(kind, section)));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASectionWithAnotherKind_OrPipelineStagesWithSft_AreRefused()
    {
        var pretrainWithSft = Valid(s => s["sft"] = JsonNode.Parse("""{"from_checkpoint": {"job": "pre", "step": 2}}"""));
        Assert.StartsWith("sft: only for kind \"sft\"", Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(pretrainWithSft)).Message, StringComparison.Ordinal);
        var sftWithGrpo = Kind("sft", """{"from_checkpoint": {"job": "pre", "step": 2}}""", s => s["grpo"] = JsonNode.Parse("{}"));
        Assert.StartsWith("grpo: only for kind \"grpo\"", Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(sftWithGrpo)).Message, StringComparison.Ordinal);
        var staged = Kind("sft", """{"from_checkpoint": {"job": "pre", "step": 2}}""", s =>
        {
            s["parallel"] = JsonNode.Parse("""{"ep": 1, "pp": 2}""");
            s["training"]!["gradient_accumulation"] = 4; // enough micro-batches for 1F1B: the layout itself is valid
        });
        Assert.StartsWith("parallel.pp: sft jobs run without pipeline stages", Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(staged)).Message, StringComparison.Ordinal);
    }
}
