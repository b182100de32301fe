using System.Text.Json.Nodes;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Cluster.Tests.Jobs;

/// <summary>The pipeline fields of <c>parallel</c>, checked at submission against the model (8 layers here) and the micro-batches.</summary>
public sealed class JobSpecPipelineTests
{
    private static string Spec(string parallel, int microBatches = 8) => JobSpecParserTests.Valid(s =>
    {
        s["model"]!["n_layers"] = 8;
        s["training"]!["gradient_accumulation"] = microBatches;
        s["parallel"] = JsonNode.Parse(parallel);
    });

    private static string Refusal(string json) => Assert.Throws<JobSpecException>(() => JobSpecParser.Parse(json)).Message;

    [Theory]
    [InlineData("{\"pp\": 2, \"schedule\": \"gpipe\"}", "parallel.schedule: 'gpipe' is not a schedule: one of \"1f1b\", \"zb1p\", \"dualpipev\"")]
    [InlineData("{\"pp\": 2, \"schedule\": 3}", "parallel.schedule: must be the name of a schedule")]
    [InlineData("{\"schedule\": \"1f1b\"}", "parallel.schedule: needs pipeline stages (parallel.pp > 1)")]
    [InlineData("{\"stage_layers\": [8]}", "parallel.stage_layers: needs pipeline stages (parallel.pp > 1)")]
    [InlineData("{\"pp\": 2, \"virtual_stages\": 2}", "parallel.virtual_stages: 1f1b holds 1 chunk(s) per rank (got 2)")]
    [InlineData("{\"pp\": 2, \"schedule\": \"dualpipev\", \"virtual_stages\": 1}", "parallel.virtual_stages: dualpipev holds 2 chunk(s) per rank (got 1)")]
    [InlineData("{\"pp\": 4, \"schedule\": \"dualpipev\"}", "parallel.schedule: dualpipev needs at least twice as many micro-batches as stages (7 < 2 × 4)", 7)]
    [InlineData("{\"pp\": 16}", "parallel.pp: 8 layers cannot fill 16 virtual stages: stage 8 would hold no layer", 16)]
    [InlineData("{\"pp\": 4, \"schedule\": \"dualpipev\"}", "parallel.pp: 7 layers cannot fill 8 virtual stages: stage 7 would hold no layer", 8, 7)]
    [InlineData("{\"pp\": 2, \"stage_layers\": [8, 0]}", "parallel.stage_layers: stage 1 holds no layer")]
    [InlineData("{\"pp\": 2, \"stage_layers\": [3, 4]}", "parallel.stage_layers: [3, 4] does not add up to the model's 8 layers (model.n_layers)")]
    [InlineData("{\"pp\": 2, \"stage_layers\": [5]}", "parallel.stage_layers: lists 1 stages but the pipeline has 2 virtual stages")]
    [InlineData("{\"pp\": 2, \"stage_layers\": [5, \"3\"]}", "parallel.stage_layers: must be a list of whole numbers")]
    [InlineData("{\"pp\": 2, \"stage_layers\": 8}", "parallel.stage_layers: must be a list of whole numbers")]
    [InlineData("{\"pp\": 2, \"ep\": 2, \"ranks\": 2}", "parallel.ranks: 2 ranks cannot hold pp × ep × dp = 2 × 2 × 1 = 4")]
    public void ImpossiblePipelines_AreRefusedNamingTheField(string parallel, string expected, int microBatches = 8, int layers = 8)
    {
        var json = JobSpecParserTests.Valid(s =>
        {
            s["model"]!["n_layers"] = layers;
            s["training"]!["gradient_accumulation"] = microBatches;
            s["parallel"] = JsonNode.Parse(parallel);
        });
        Assert.StartsWith(expected, Refusal(json), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"pp\": 2}", 2, 1, "1f1b", null)]
    [InlineData("{\"pp\": 4, \"schedule\": \"zb1p\", \"stage_layers\": [1, 2, 2, 3]}", 4, 1, "zb1p", "1,2,2,3")]
    [InlineData("{\"pp\": 2, \"schedule\": \"dualpipev\", \"virtual_stages\": 2, \"ranks\": 2}", 2, 2, "dualpipev", null)]
    [InlineData("{\"pp\": 2, \"dp\": 2, \"ranks\": 4}", 2, 1, "1f1b", null, 2)]
    [InlineData("{\"pp\": 2, \"ep\": 2, \"dp\": 2, \"schedule\": \"dualpipev\", \"ranks\": 8}", 2, 2, "dualpipev", null, 2, 2)]
    public void ValidPipelines_ParseIntoTheLayout_AndWriteBackTheSame(string parallel, int pp, int chunks, string schedule, string? layers, int dp = 1, int ep = 1)
    {
        var spec = JobSpecParser.Parse(Spec(parallel));
        Assert.Equal(new ParallelSpec(ep, dp, pp, chunks, schedule, layers), spec.Layout);
        Assert.Equal(spec, JobSpecParser.Parse(JobSpecParser.ToJson(spec)));
    }

    [Fact]
    public void PipelinesOverNccl_AreRefusedNamingTheDataPlane()
    {
        var json = JobSpecParserTests.Valid(s =>
        {
            s["model"]!["n_layers"] = 8;
            s["training"]!["gradient_accumulation"] = 8;
            s["parallel"] = JsonNode.Parse("{\"pp\": 2}");
            s["data_plane"] = "nccl";
        });
        Assert.StartsWith("data_plane: pipeline stages exchange activations through grain calls for now", Refusal(json), StringComparison.Ordinal);
    }

    [Fact]
    public void OneStage_ParsesAsBefore() =>
        Assert.Equal(new ParallelSpec(2, 1), JobSpecParser.Parse(Spec("{\"ep\": 2, \"pp\": 1}")).Layout);
}
