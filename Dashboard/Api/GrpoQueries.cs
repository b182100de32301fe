using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Orchestrator.Grains;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Dashboard;

/// <summary>
/// <c>GET /api/jobs/{id}/grpo</c>: a grpo job's per-step series — mean reward (accuracy + format) and each part, mean response
/// length, KL to the reference, clip fraction, generation tokens/s and (when its rollouts speculate) MTP acceptance — as
/// <c>{name: [[step, value], …]}</c>, and the sampled completions of its newest steps with their rewards (the
/// <c>grpo-samples</c> events, newest first).
/// </summary>
public static class GrpoQueries
{
    /// <summary>The series the job's ranks store for each grpo step (<c>JobGrain.Grpo.cs</c>).</summary>
    public static readonly string[] Series =
        ["grpo_reward", "grpo_accuracy", "grpo_format", "grpo_length", "grpo_kl", "grpo_clip", "generation_tokens_per_s", "mtp_acceptance"];

    /// <summary>The grpo view of job <paramref name="id"/> with the completions of its last <paramref name="samples"/> steps (default 5); 404 for no such job, 409 for a job of another kind.</summary>
    public static async Task<IResult> GetAsync(string id, IJobStore jobStore, IMetricStore metricStore, int? samples)
    {
        var record = await jobStore.GetJobAsync(id);
        if (record is null) return ApiErrors.Result(StatusCodes.Status404NotFound, "id", $"no job '{id}'");
        if (samples is < 0 or > 100) return ApiErrors.Result(StatusCodes.Status400BadRequest, "samples", "must be between 0 and 100");
        var spec = JobSpecParser.Parse(record.SpecJson);
        if (spec.Kind != JobKind.Grpo)
            return ApiErrors.Result(StatusCodes.Status409Conflict, "kind", $"job '{id}' is a {JobSpecParser.KindName(spec.Kind)} job, not grpo");

        var stored = await metricStore.QueryMetricsAsync(id, new MetricQuery());
        var series = new JsonObject();
        foreach (var name in Series)
            series[name] = new JsonArray([.. stored.Where(m => m.Name == name).Select(m => (JsonNode)new JsonArray(m.Step, m.Value))]);
        var completions = (await jobStore.ListJobEventsAsync(id, 0))
            .Where(e => e.Kind == "grpo-samples" && e.DetailJson is not null)
            .Reverse().Take(samples ?? 5).Select(e => JsonNode.Parse(e.DetailJson!)).ToArray();
        return Results.Json(new JsonObject
        {
            ["group_size"] = spec.Grpo!.GroupSize,
            ["series"] = series,
            ["samples"] = new JsonArray(completions),
        });
    }
}
