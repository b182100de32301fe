using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The checkpoint policy's peer snapshots: <c>memory_copies</c> (off by default; 1 or 2) and <c>memory_every</c> (default 1).</summary>
public sealed class JobSpecMemorySnapshotTests
{
    private static string Spec(JsonObject checkpoint, Action<JsonObject>? change = null)
    {
        var spec = TinyJob.Spec("j1", "/data", 10);
        spec["checkpoint"] = checkpoint;
        change?.Invoke(spec);
        return spec.ToJsonString();
    }

    [Fact]
    public void WithoutTheFields_NoSnapshotsAreTaken_AndTheSpecWritesBackAsBefore()
    {
        var spec = JobSpecParser.Parse(Spec(new JsonObject { ["every"] = 2, ["keep"] = 1 }));

        Assert.Equal(0, spec.Checkpoint.MemoryCopies);
        Assert.Equal(1, spec.Checkpoint.MemoryEvery);
        Assert.False(spec.Checkpoint.IsMemoryDue(1));
        Assert.Equal("""{"every":2,"keep":1,"keep_every":0}""", JsonNode.Parse(JobSpecParser.ToJson(spec))!["checkpoint"]!.ToJsonString());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    public void TheFields_AreRead_AndRoundTrip(int every, int copies)
    {
        var spec = JobSpecParser.Parse(Spec(new JsonObject { ["every"] = 2, ["keep"] = 1, ["memory_every"] = every, ["memory_copies"] = copies }));

        Assert.Equal((every, copies), (spec.Checkpoint.MemoryEvery, spec.Checkpoint.MemoryCopies));
        Assert.Equal(every == 1, spec.Checkpoint.IsMemoryDue(1));
        Assert.True(spec.Checkpoint.IsMemoryDue(every * 2));
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
    }

    [Theory]
    [InlineData("memory_copies", "3", "checkpoint.memory_copies", "must be 0 (no peer snapshots), 1 or 2 (got 3)")]
    [InlineData("memory_copies", "-1", "checkpoint.memory_copies", "")]
    [InlineData("memory_copies", "\"two\"", "checkpoint.memory_copies", "")]
    [InlineData("memory_every", "0", "checkpoint.memory_every", "")]
    [InlineData("memory_evry", "1", "checkpoint.memory_evry", "")]
    public void ABadField_IsRefused_NamingIt(string key, string value, string field, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() =>
            JobSpecParser.Parse(Spec(new JsonObject { ["every"] = 2, ["keep"] = 1, [key] = JsonNode.Parse(value) })));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Snapshots_WithPipelineStages_AreRefused_NamingTheField()
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Spec(
            new JsonObject { ["every"] = 2, ["keep"] = 1, ["memory_copies"] = 1 },
            s =>
            {
                s["parallel"] = JsonNode.Parse("""{"ep": 1, "dp": 1, "pp": 2}""");
                s["training"]!["gradient_accumulation"] = 4;
            })));

        Assert.StartsWith("checkpoint.memory_copies: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("pipeline", error.Message, StringComparison.Ordinal);
    }
}
