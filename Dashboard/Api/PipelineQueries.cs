using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Dashboard;

/// <summary>
/// <c>GET /api/jobs/{id}/pipeline</c>: each pipeline stage's newest timeline, read from the stage grains of the job's
/// current epoch (pinned with each stage's first rank), and the bubble of the newest step every stage has recorded.
/// </summary>
public static class PipelineQueries
{
    /// <summary>The pipeline view of job <paramref name="id"/>; 404 for no such job, 409 for a job without pipeline stages.</summary>
    public static async Task<IResult> GetAsync(string id, IJobStore jobStore, IGrainFactory grains)
    {
        var record = await jobStore.GetJobAsync(id);
        if (record is null) return ApiErrors.Result(StatusCodes.Status404NotFound, "id", $"no job '{id}'");
        var layout = JobSpecParser.Parse(record.SpecJson).Layout;
        if (layout.Stages == 1)
            return ApiErrors.Result(StatusCodes.Status409Conflict, "parallel.pp", $"job '{id}' has no pipeline stages (pp 1)");
        var status = await grains.GetGrain<IJobGrain>(id).GetStatus();
        if (status.Plan is not { } plan) return Results.Json(new JsonObject { ["schedule"] = layout.Schedule, ["stages"] = new JsonArray() });

        var ranksPerStage = layout.Dp * layout.Ep;
        var stages = new List<(int Stage, string Node, StageTimeline? Timeline)>();
        for (var s = 0; s < layout.Stages; s++)
        {
            var first = plan.Ranks.FirstOrDefault(r => r.Rank == s * ranksPerStage);
            if (first is null) continue;
            var grain = grains.GetGrain<IPipelineStageGrain>(new RankKey(id, plan.Epoch, s, first.Node).ToString());
            stages.Add((s, first.Node, await grain.Latest()));
        }

        // The bubble of the newest step that every stage recorded: the makespan less each stage's compute, the largest over the makespan.
        var recorded = stages.Where(s => s.Timeline is not null).Select(s => s.Timeline!).ToList();
        JsonNode? bubble = null;
        if (recorded.Count == stages.Count && recorded.Count > 0 && recorded.Select(t => t.Step).Distinct().Count() == 1)
        {
            var makespan = recorded.Max(t => t.Intervals.Count == 0 ? 0 : t.Intervals.Max(i => i.EndMs));
            if (makespan > 0) bubble = recorded.Max(t => makespan - t.ComputeMs) / makespan;
        }

        return Results.Json(new JsonObject
        {
            ["schedule"] = layout.Schedule,
            ["epoch"] = plan.Epoch,
            ["bubble"] = bubble,
            ["stages"] = new JsonArray([.. stages.Select(s => (JsonNode)new JsonObject
            {
                ["stage"] = s.Stage,
                ["node"] = s.Node,
                ["step"] = s.Timeline?.Step,
                ["virtual_stages"] = s.Timeline is null ? null : new JsonArray([.. s.Timeline.VirtualStages.Select(v => (JsonNode)v)]),
                ["compute_ms"] = s.Timeline?.ComputeMs,
                ["intervals"] = s.Timeline is null ? new JsonArray() : new JsonArray([.. s.Timeline.Intervals.Select(i => (JsonNode)new JsonObject
                {
                    ["op"] = i.Op, ["micro_batch"] = i.MicroBatch, ["virtual_stage"] = i.VirtualStage, ["start_ms"] = i.StartMs, ["end_ms"] = i.EndMs,
                })]),
            })]),
        });
    }
}
