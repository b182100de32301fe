using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Dashboard;

/// <summary>
/// <c>GET /api/jobs/{id}/experts</c>: the expert → rank map of every MoE layer as the job's <see cref="IExpertShardGrain"/>s of
/// its current epoch hold it (replicas marked; before the balancer's first update, or without <c>balancing</c>, the map the
/// job starts on), each shard's recent loads, and every re-placement stored with the job: both maps and the per-rank
/// loads before and after.
/// </summary>
public static class ExpertQueries
{
    /// <summary>The expert view of job <paramref name="id"/>; 404 for no such job, 409 for a job without expert parallelism.</summary>
    public static async Task<IResult> GetAsync(string id, IJobStore jobStore, IGrainFactory grains)
    {
        var record = await jobStore.GetJobAsync(id);
        if (record is null) return ApiErrors.Result(StatusCodes.Status404NotFound, "id", $"no job '{id}'");
        var spec = JobSpecParser.Parse(record.SpecJson);
        if (spec.Layout.Ep == 1)
            return ApiErrors.Result(StatusCodes.Status409Conflict, "parallel.ep", $"job '{id}' has no expert parallelism (ep 1)");
        var model = spec.Run.Config().Model!;
        var status = await grains.GetGrain<IJobGrain>(id).GetStatus();
        var layers = model.MoeLayers + model.MtpDepth;
        var first = ExpertReplacementSchedule.InitialMap(JobExpertSettings.Of(spec, model), model.RoutedExperts, spec.Layout.Ep, layers);

        var layerViews = new JsonArray();
        for (var l = 0; l < layers; l++)
        {
            var shards = new JsonArray();
            for (var r = 0; r < spec.Layout.Ep; r++)
            {
                var state = await grains.GetGrain<IExpertShardGrain>(IExpertShardGrain.KeyOf(id, status.Epoch, l, r)).GetState();
                var map = first.Layers[l];
                var experts = state.MapVersion >= 0
                    ? state.Experts
                    : [.. map.Held(r).Select(e => new ExpertCopy(e, map.Hosts(e).ToList().IndexOf(r), map.Hosts(e).Count))];
                shards.Add(new JsonObject
                {
                    ["shard"] = r,
                    ["map_version"] = Math.Max(state.MapVersion, 0),
                    ["experts"] = new JsonArray([.. experts.Select(c => (JsonNode)new JsonObject
                    {
                        ["expert"] = c.Expert, ["replica"] = c.Replica, ["copies"] = c.Copies,
                    })]),
                    ["loads"] = new JsonArray([.. state.Loads.Select(x => (JsonNode)new JsonObject { ["step"] = x.Step, ["tokens"] = x.Tokens })]),
                });
            }
            layerViews.Add(new JsonObject { ["layer"] = l, ["shards"] = shards });
        }

        var replacements = (await jobStore.ListJobEventsAsync(id, 0))
            .Where(e => e.Kind == "expert-replacement" && e.DetailJson is not null)
            .Select(e => JsonNode.Parse(e.DetailJson!)).ToArray();
        return Results.Json(new JsonObject
        {
            ["epoch"] = status.Epoch,
            ["experts"] = model.RoutedExperts,
            ["slots_per_rank"] = (model.RoutedExperts + spec.Layout.RedundantExperts) / spec.Layout.Ep,
            ["balancing"] = spec.Balancing is not null,
            ["layers"] = layerViews,
            ["replacements"] = new JsonArray(replacements),
        });
    }
}
