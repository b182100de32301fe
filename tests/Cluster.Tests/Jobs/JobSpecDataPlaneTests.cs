using System.Text.Json.Nodes;
using Orchestrator.Cluster.Tests.Support;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The spec's <c>data_plane</c>: auto by default, nccl or grains by choice, refused with the reason otherwise.</summary>
public sealed class JobSpecDataPlaneTests
{
    private static string Spec(Action<JsonObject> change)
    {
        var spec = TinyJob.Spec("j1", "/data", 5);
        change(spec);
        return spec.ToJsonString();
    }

    [Theory]
    [InlineData(null, DataPlaneMode.Auto)]
    [InlineData("auto", DataPlaneMode.Auto)]
    [InlineData("nccl", DataPlaneMode.Nccl)]
    [InlineData("grains", DataPlaneMode.Grains)]
    public void DataPlane_IsRead_AndRoundTrips(string? written, DataPlaneMode expected)
    {
        var spec = JobSpecParser.Parse(Spec(s =>
        {
            if (written is not null) s["data_plane"] = written;
            s["parallel"] = JsonNode.Parse("""{"ep": 2}""");
        }));

        Assert.Equal(expected, spec.DataPlane);
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
    }

    [Theory]
    [InlineData("\"infiniband\"", "'infiniband' is not a data plane")]
    [InlineData("true", "must be one of")]
    [InlineData("\"NCCL\"", "'NCCL' is not a data plane")]
    public void AnUnknownDataPlane_IsRefused_NamingTheField(string value, string reason)
    {
        var error = Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(Spec(s => s["data_plane"] = JsonNode.Parse(value))));

        Assert.StartsWith("data_plane: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nccl_WithDataParallelReplicas_IsAccepted()
    {
        var spec = JobSpecParser.Parse(Spec(s =>
        {
            s["data_plane"] = "nccl";
            s["parallel"] = JsonNode.Parse("""{"ep": 2, "dp": 2}""");
        }));

        Assert.Equal(DataPlaneMode.Nccl, spec.DataPlane);
        Assert.Equal(new ParallelSpec(2, 2), spec.Layout);
    }
}
