using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The spec's expert re-placement: <c>parallel.redundant_experts</c> and <c>balancing</c>, off by default, impossible numbers refused.</summary>
public sealed class JobSpecBalancingTests
{
    private static string Spec(string parallel, string? balancing = null)
    {
        var spec = TinyJob.Spec("j1", "/data", 5); // 8 routed experts
        spec["parallel"] = JsonNode.Parse(parallel);
        if (balancing is not null) spec["balancing"] = JsonNode.Parse(balancing);
        return spec.ToJsonString();
    }

    [Fact]
    public void ReplacementIsOff_ByDefault_AndWrittenAsBefore()
    {
        var spec = JobSpecParser.Parse(Spec("""{"ep": 4}"""));

        Assert.Null(spec.Balancing);
        Assert.Equal(0, spec.Layout.RedundantExperts);
        var json = JobSpecParser.ToJson(spec);
        Assert.DoesNotContain("balancing", json, StringComparison.Ordinal);
        Assert.DoesNotContain("redundant_experts", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_AreRead_WithTheirDefaults_AndRoundTrip()
    {
        var spec = JobSpecParser.Parse(Spec("""{"ep": 4, "redundant_experts": 4}""", """{"replace_every": 3}"""));

        Assert.Equal(4, spec.Layout.RedundantExperts);
        Assert.Equal(new ExpertBalancingSpec(3, 0, 3, 1), spec.Balancing);
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));

        var imbalance = JobSpecParser.Parse(Spec("""{"ep": 4}""", """{"replace_imbalance": 1.25, "nodes": 2}"""));
        Assert.Equal(new ExpertBalancingSpec(0, 1.25, 10, 2), imbalance.Balancing);
        Assert.Equal(imbalance, JobSpecParser.Parse(JobSpecParser.ToJson(imbalance)));
    }

    [Theory]
    [InlineData("""{"ep": 4, "redundant_experts": 2}""", null, "parallel.redundant_experts", "10 slots do not divide evenly over 4 EP ranks")]
    [InlineData("""{"ep": 4, "redundant_experts": 28}""", null, "parallel.redundant_experts", "without two copies on one rank")]
    [InlineData("""{"ep": 1, "redundant_experts": 4}""", null, "parallel.redundant_experts", "need expert parallelism")]
    [InlineData("""{"ep": 4, "redundant_experts": -4}""", null, "parallel.redundant_experts", "must be at least 0")]
    [InlineData("""{"ep": 4}""", """{"replace_every": 0}""", "balancing", "give balancing.replace_every")]
    [InlineData("""{"ep": 4}""", """{"replace_imbalance": 0.5}""", "balancing.replace_imbalance", "above 1")]
    [InlineData("""{"ep": 4}""", """{"replace_every": 2, "nodes": 3}""", "balancing.nodes", "4 EP ranks cannot be spread evenly over 3 nodes")]
    [InlineData("""{"ep": 4}""", """{"replace_every": 2, "window": 3}""", "balancing.window", "unknown field")]
    [InlineData("""{"ep": 1}""", """{"replace_every": 2}""", "balancing", "needs expert parallelism")]
    [InlineData("""{"ep": 4}""", """{"replace_every": 2, "replace_window": 0}""", "balancing.replace_window", "must be at least 1")]
    public void ImpossibleNumbers_AreRefused_NamingTheField(string parallel, string? balancing, string field, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Spec(parallel, balancing)));

        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    /// <summary>A pipeline job (pp 2 × ep 2, micro-batches enough for the stages) or a simulated one with replicas or re-placement.</summary>
    private static string Unsupported(bool pipeline, string parallel, string? balancing)
    {
        var spec = JsonNode.Parse(Spec(parallel, balancing))!.AsObject();
        if (pipeline) spec["training"]!["gradient_accumulation"] = 4;
        else spec["simulation"] = new JsonObject { ["step_ms"] = 10 };
        return spec.ToJsonString();
    }

    [Theory]
    [InlineData(true, """{"pp": 2, "ep": 2, "redundant_experts": 2}""", null, "parallel.redundant_experts", "not supported with pipeline stages")]
    [InlineData(true, """{"pp": 2, "ep": 2}""", """{"replace_every": 2}""", "balancing", "not supported with pipeline stages")]
    [InlineData(false, """{"ep": 4, "redundant_experts": 4}""", null, "parallel.redundant_experts", "replicas are not simulated")]
    [InlineData(false, """{"ep": 4}""", """{"replace_every": 2}""", "balancing", "re-placing experts is not simulated")]
    public void PipelineOrSimulatedJobs_WithReplicasOrRePlacement_AreRefused_NamingTheField(bool pipeline, string parallel, string? balancing, string field, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Unsupported(pipeline, parallel, balancing)));

        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        // The same layouts without replicas or re-placement are accepted: the refusal is about the experts alone.
        var plain = JsonNode.Parse(Unsupported(pipeline, parallel, null))!.AsObject();
        plain["parallel"]!.AsObject().Remove("redundant_experts");
        Assert.Null(JobSpecParser.Parse(plain.ToJsonString()).Balancing);
    }
}
