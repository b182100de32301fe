using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Cluster.Tests.Jobs;

public sealed class JobSpecParserTests
{
    internal static string Valid(Action<JsonObject>? change = null)
    {
        var spec = TinyJob.Spec("j1", "/data", 5);
        change?.Invoke(spec);
        return spec.ToJsonString();
    }

    [Fact]
    public void RetentionAndResumeFrom_RoundTrip()
    {
        var spec = JobSpecParser.Parse(Valid(s =>
        {
            s["checkpoint"] = JsonNode.Parse("""{"every": 2, "keep": 3, "keep_every": 10}""");
            s["resume_from"] = JsonNode.Parse("""{"job": "orig", "step": 4}""");
        }));

        Assert.Equal(new CheckpointPolicy(2, 3, 10), spec.Checkpoint);
        Assert.Equal(new CheckpointSource("orig", 4), spec.ResumeFrom);
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
    }

    private static string Refusal(string json, Func<string, string?>? configs = null) =>
        Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(json, configs)).Message;

    [Fact]
    public void AValidSpec_ReadsBackUnchanged_ThroughItsNormalForm()
    {
        var spec = JobSpecParser.Parse(Valid(s => s["fp8"] = true));
        var again = JobSpecParser.Parse(JobSpecParser.ToJson(spec));

        Assert.Equal(("j1", 5L, 1, 1, true), (spec.Id, spec.Steps, spec.Layout.Ep, spec.Layout.Dp, spec.Fp8));
        Assert.Equal("fp8", spec.Run.Config().Model!.GemmPrecision);
        Assert.Equal(spec with { Layout = again.Layout, Checkpoint = again.Checkpoint }, again);
        Assert.Equal(spec.Layout, again.Layout);
        Assert.Equal(spec.Checkpoint, again.Checkpoint);
    }

    [Fact]
    public void ANamedConfig_IsResolvedInline_AndTrainingOverridesApply()
    {
        var json = """{"config": "small", "training": {"lr": 0.01}, "data": "d", "steps": 3}""";
        var named = new JsonObject { ["model"] = TinyJob.Model(), ["training"] = TinyJob.Training() }.ToJsonString();

        var spec = JobSpecParser.Parse(json, name => name == "small" ? named : null, "/base");

        var config = spec.Run.Config();
        Assert.Equal(0.01, config.Training!.LearningRate);
        Assert.Equal(1, config.Training.Threads);
        Assert.Equal(32, config.Model!.Dim);
        Assert.Equal("/base/d", spec.DataDirectory);
        Assert.Matches("^job-[a-z0-9]{12}$", spec.Id);
    }

    [Theory]
    [InlineData("{\"steps\": 5,", "(root): malformed JSON")]
    [InlineData("[1, 2]", "(root): a job spec is a JSON object")]
    public void MalformedJson_IsRefused(string json, string expected) =>
        Assert.StartsWith(expected, Refusal(json), StringComparison.Ordinal);

    [Theory]
    [InlineData("stepz", "stepz: unknown field")]
    [InlineData("parallel.tp", "parallel.tp: unknown field")]
    [InlineData("checkpoint.often", "checkpoint.often: unknown field")]
    [InlineData("training.lr2", "training.lr2: unknown field")]
    [InlineData("model.n_headz", "model.n_headz: unknown field")]
    public void UnknownFields_AreRefused_NamingTheField(string field, string expected)
    {
        var json = Valid(s =>
        {
            var parts = field.Split('.');
            var target = parts.Length == 1 ? s : (JsonObject)s[parts[0]]!;
            target[parts[^1]] = 1;
        });

        Assert.Contains(expected, Refusal(json), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"ep\": 3}", "parallel.ep: the model's 8 routed experts")]
    [InlineData("{\"pp\": 2}", "parallel.schedule: 1f1b needs at least as many micro-batches as stages (1 < 2)")]
    [InlineData("{\"ep\": 2, \"dp\": 2, \"ranks\": 3}", "parallel.ranks: 3 ranks cannot hold ep × dp = 2 × 2 = 4")]
    [InlineData("{\"ep\": 0}", "parallel.ep: must be at least 1")]
    public void ImpossibleLayouts_AreRefused_WithTheReason(string parallel, string expected) =>
        Assert.StartsWith(expected, Refusal(Valid(s => s["parallel"] = JsonNode.Parse(parallel))), StringComparison.Ordinal);

    [Theory]
    [InlineData("id", "\"Bad_Id\"", "id: 'Bad_Id' is not a job id")]
    [InlineData("steps", "0", "steps: must be at least 1")]
    [InlineData("steps", "2.5", "steps: must be a whole number")]
    [InlineData("data", "\"\"", "data: must be a non-empty string")]
    [InlineData("fp8", "\"yes\"", "fp8: must be true or false")]
    [InlineData("config", "\"tiny\"", "model: give exactly one of")]
    [InlineData("checkpoint", "{\"every\": 2, \"keep_every\": -1}", "checkpoint.keep_every: must be at least 0")]
    [InlineData("checkpoint", "{\"every\": 2, \"keep_last\": 3}", "checkpoint.keep_last: unknown field")]
    [InlineData("resume_from", "{\"job\": \"a\"}", "resume_from.step: is required")]
    [InlineData("resume_from", "{\"job\": \"a\", \"step\": 5}", "resume_from.step: the checkpoint is at step 5, but the job ends at step 5")]
    [InlineData("resume_from", "{\"job\": \"A!\", \"step\": 2}", "resume_from.job: 'A!' is not a job id")]
    [InlineData("resume_from", "{\"job\": \"a\", \"step\": 2, \"epoch\": 1}", "resume_from.epoch: unknown field")]
    public void BadValues_AreRefused_NamingTheField(string field, string value, string expected) =>
        Assert.StartsWith(expected, Refusal(Valid(s => s[field] = JsonNode.Parse(value))), StringComparison.Ordinal);

    [Fact]
    public void AnUnknownConfigName_IsRefused() =>
        Assert.StartsWith("config: no config named 'huge'",
            Refusal("""{"config": "huge", "data": "d", "steps": 1}""", _ => null), StringComparison.Ordinal);

    [Fact]
    public void AnInconsistentModel_IsRefused_WithTheConfigValidatorsField() =>
        Assert.Contains("model.dim",
            Refusal(Valid(s => s["model"]!["dim"] = -1)), StringComparison.Ordinal);

    [Fact]
    public void TheNormalForm_IsAConfigTheKernelsAccept() =>
        Assert.NotNull(ConfigLoader.Parse(JobSpecParser.Parse(Valid()).Run.Json).Model);

    [Fact]
    public void ShippedJobSpecs_AllParse_AgainstTheShippedConfigs()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Orchestrator.sln"))) root = Path.GetDirectoryName(root)!;
        string? Resolve(string name)
        {
            var path = Path.Combine(root, "deploy", "configs", name + ".json");
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }

        var specs = Directory.GetFiles(Path.Combine(root, "deploy", "jobs"), "*.json");
        Assert.NotEmpty(specs);
        foreach (var file in specs)
        {
            var spec = JobSpecParser.Parse(File.ReadAllText(file), Resolve);
            Assert.True(spec.Steps > 0, file);
        }
    }
}
