using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The spec's <c>simulation</c> (a job for sim:N devices): absent for real jobs, read with defaults, refused naming the field.</summary>
public sealed class JobSpecSimulationTests
{
    private static string Spec(Action<JsonObject> change)
    {
        var spec = TinyJob.Spec("j1", "/data", 5);
        change(spec);
        return spec.ToJsonString();
    }

    [Fact]
    public void ARealJob_HasNoSimulation_AndItsStoredFormHasNone()
    {
        var spec = JobSpecParser.Parse(Spec(_ => { }));

        Assert.Null(spec.Simulation);
        Assert.DoesNotContain("simulation", JobSpecParser.ToJson(spec), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}", 1000, 64, 1.0)]
    [InlineData("""{"step_ms": 250}""", 250, 64, 1.0)]
    [InlineData("""{"step_ms": 10000, "shard_kb": 0, "skew": 0}""", 10000, 0, 0.0)]
    [InlineData("""{"shard_kb": 4096, "skew": 1.5}""", 1000, 4096, 1.5)]
    public void Simulation_IsRead_WithItsDefaults_AndRoundTrips(string written, double stepMs, int shardKb, double skew)
    {
        var spec = JobSpecParser.Parse(Spec(s => s["simulation"] = JsonNode.Parse(written)));

        Assert.Equal(new SimulationSpec(stepMs, shardKb, skew), spec.Simulation);
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
    }

    [Theory]
    [InlineData("""{"step_ms": 0}""", "simulation.step_ms", "above 0")]
    [InlineData("""{"step_ms": -5}""", "simulation.step_ms", "above 0")]
    [InlineData("""{"step_ms": "fast"}""", "simulation.step_ms", "must be a number")]
    [InlineData("""{"shard_kb": -1}""", "simulation.shard_kb", "at least 0")]
    [InlineData("""{"shard_kb": 1.5}""", "simulation.shard_kb", "whole number")]
    [InlineData("""{"shard_kb": 2000000}""", "simulation.shard_kb", "at most 1048576")]
    [InlineData("""{"skew": -0.1}""", "simulation.skew", "from 0 to 10")]
    [InlineData("""{"steps_ms": 100}""", "simulation.steps_ms", "unknown field")]
    [InlineData("true", "simulation", "must be an object")]
    public void ABadSimulation_IsRefused_NamingTheField(string value, string field, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Spec(s => s["simulation"] = JsonNode.Parse(value))));

        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
