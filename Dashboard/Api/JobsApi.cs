using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Orchestrator.Grains;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Dashboard;

/// <summary>The REST API under <c>/api</c>: the cluster, configs, jobs (submit, read, cancel), metrics, expert loads.</summary>
public static partial class JobsApi
{
    [GeneratedRegex("^[a-z0-9-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex JobId();

    /// <summary>Maps the API's endpoints.</summary>
    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api").WithTags("api");

        api.MapGet("/cluster", (ClusterQueries cluster) => cluster.GetAsync())
            .WithName("GetCluster").WithSummary("Nodes (health, devices, which job rank uses each device) and jobs.");
        api.MapGet("/configs", (IOptions<DashboardOptions> options) =>
                new FormDefaults(options.Value.ConfigNames.ToList(), options.Value.DefaultDataDirectory))
            .WithName("ListConfigs").WithSummary("The named model configs the job form offers, and its default data folder.");
        api.MapGet("/configs/{name}", GetConfig)
            .WithName("GetConfig").WithSummary("One named config's JSON (model and training sections).");
        api.MapGet("/jobs", async (IGrainFactory grains) =>
                (await grains.GetGrain<IClusterGrain>(IClusterGrain.Key).GetJobs()).Select(JobView.Of).ToList())
            .WithName("ListJobs").WithSummary("Every job, oldest first.");
        api.MapPost("/jobs", Submit)
            .WithName("SubmitJob").WithSummary("Submits a job spec (the JSON `orchestrator submit` reads). 400 names the field at fault; nothing is recorded then.")
            .Accepts<JsonObject>("application/json")
            .Produces<JobView>(StatusCodes.Status201Created).Produces<ApiError>(StatusCodes.Status400BadRequest);
        api.MapPost("/jobs/validate", Validate)
            .WithName("ValidateJob").WithSummary("Checks a job spec without submitting it; 400 names the field at fault.")
            .Accepts<JsonObject>("application/json")
            .Produces<JsonObject>().Produces<ApiError>(StatusCodes.Status400BadRequest);
        api.MapGet("/jobs/{id}", GetJob)
            .WithName("GetJob").WithSummary("A job's status and its spec as stored.")
            .Produces<JobDetail>().Produces<ApiError>(StatusCodes.Status404NotFound);
        api.MapGet("/jobs/{id}/events", GetEvents)
            .WithName("GetJobEvents").WithSummary("A job's history: submitted, planned, started, node-lost, checkpoint-committed, …");
        api.MapGet("/jobs/{id}/metrics", GetMetrics)
            .WithName("GetJobMetrics").WithSummary("Per-step loss, tokens_per_s, max_vio and lr from step `from` on.");
        api.MapGet("/jobs/{id}/expert-load", GetExpertLoads)
            .WithName("GetJobExpertLoad").WithSummary("Per-layer expert loads and routing biases of steps `from` to `to`.");
        api.MapGet("/jobs/{id}/pipeline", PipelineQueries.GetAsync)
            .WithName("GetJobPipeline").WithSummary("Each pipeline stage's newest step timeline (F, B, Bi, W per micro-batch) and the bubble; 409 without pipeline stages.");
        api.MapGet("/jobs/{id}/experts", ExpertQueries.GetAsync)
            .WithName("GetJobExperts").WithSummary("The expert → rank map of each MoE layer (replicas marked), each shard's recent loads, and every re-placement with the per-rank loads before and after; 409 without expert parallelism.");
        api.MapGet("/jobs/{id}/grpo", GrpoQueries.GetAsync)
            .WithName("GetJobGrpo").WithSummary("A grpo job's per-step reward (accuracy, format), response length, KL, clip fraction, generation tokens/s and MTP acceptance, and its newest sampled completions with their rewards; 409 for other kinds.");
        api.MapPost("/jobs/{id}/cancel", Cancel)
            .WithName("CancelJob").WithSummary("Cancels a job (a finished job is left as it is).")
            .Produces<JobView>().Produces<ApiError>(StatusCodes.Status404NotFound);
        api.MapGet("/jobs/{id}/checkpoints", GetCheckpoints)
            .WithName("GetJobCheckpoints").WithSummary("A job's committed checkpoints, oldest first.");
        api.MapPost("/jobs/{id}/restore", Restore)
            .WithName("RestoreJob").WithSummary("Starts a new job from a committed checkpoint of this one (`{\"step\": N, \"id\": \"new-id\"}`; id optional).")
            .Produces<JobView>(StatusCodes.Status201Created).Produces<ApiError>(StatusCodes.Status400BadRequest).Produces<ApiError>(StatusCodes.Status404NotFound);
        api.MapGet("/jobs/{id}/stream", JobStreams.Job)
            .WithName("StreamJob").WithSummary("Server-sent events: status, metrics, events and expert loads as they happen.");
        api.MapGet("/cluster/stream", JobStreams.Cluster)
            .WithName("StreamCluster").WithSummary("Server-sent events: the cluster view whenever it changes.");
        return routes;
    }

    private static IResult GetConfig(string name, IOptions<DashboardOptions> options)
    {
        var json = options.Value.ConfigNames.Contains(name) ? options.Value.ResolveConfig?.Invoke(name) : null;
        return json is null
            ? ApiErrors.Result(StatusCodes.Status404NotFound, "config", $"no config named '{name}'")
            : Results.Json(new ConfigView(name, JsonNode.Parse(json)));
    }

    private static async Task<IResult> Submit(HttpRequest request, JobSubmission submission)
    {
        var (json, error) = await ReadSpecAsync(request);
        if (error is not null) return error;
        try
        {
            var status = await submission.SubmitAsync(json!);
            return Results.Json(JobView.Of(status), statusCode: StatusCodes.Status201Created);
        }
        catch (JobSpecException e)
        {
            return Results.Json(ApiErrors.FromSpec(e), statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> Validate(HttpRequest request, JobSubmission submission)
    {
        var (json, error) = await ReadSpecAsync(request);
        if (error is not null) return error;
        try
        {
            var spec = submission.Parse(json!);
            return Results.Json(JsonNode.Parse(Grains.Jobs.JobSpecParser.ToJson(spec)));
        }
        catch (JobSpecException e)
        {
            return Results.Json(ApiErrors.FromSpec(e), statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> GetJob(string id, IJobStore jobStore, IGrainFactory grains)
    {
        var record = JobId().IsMatch(id) ? await jobStore.GetJobAsync(id) : null;
        if (record is null) return NoJob(id);
        var status = await grains.GetGrain<IJobGrain>(id).GetStatus();
        return Results.Json(new JobDetail(JobView.Of(status), JsonNode.Parse(record.SpecJson)));
    }

    private static async Task<IResult> GetEvents(string id, IJobStore jobStore, long? after)
    {
        if (!await ExistsAsync(jobStore, id)) return NoJob(id);
        if (after is < 0) return ApiErrors.Result(StatusCodes.Status400BadRequest, "after", "must not be negative");
        var events = await jobStore.ListJobEventsAsync(id, after ?? 0);
        return Results.Json(events.Select(EventView.Of).ToList());
    }

    private static async Task<IResult> GetMetrics(string id, IJobStore jobStore, IMetricStore metricStore, long? from)
    {
        if (!await ExistsAsync(jobStore, id)) return NoJob(id);
        if (from is < 0) return ApiErrors.Result(StatusCodes.Status400BadRequest, "from", "must not be negative");
        return Results.Json(MetricsView.Of(await metricStore.QueryMetricsAsync(id, new MetricQuery(FromStep: from))));
    }

    private static async Task<IResult> GetExpertLoads(string id, IJobStore jobStore, IMetricStore metricStore, long? from, long? to)
    {
        if (!await ExistsAsync(jobStore, id)) return NoJob(id);
        if (from is < 0) return ApiErrors.Result(StatusCodes.Status400BadRequest, "from", "must not be negative");
        if (from is { } f && to is { } t && f > t) return ApiErrors.Result(StatusCodes.Status400BadRequest, "to", "must not be before from");
        var samples = await metricStore.QueryExpertLoadsAsync(id, from ?? 0, to ?? long.MaxValue);
        return Results.Json(samples.Select(ExpertLoadView.Of).ToList());
    }

    private static async Task<IResult> GetCheckpoints(string id, IJobStore jobStore, ICheckpointIndex checkpointIndex)
    {
        if (!await ExistsAsync(jobStore, id)) return NoJob(id);
        return Results.Json((await checkpointIndex.ListCheckpointsAsync(id)).Select(CheckpointView.Of).ToList());
    }

    private static async Task<IResult> Restore(string id, HttpRequest request, IJobStore jobStore, JobSubmission submission)
    {
        if (!await ExistsAsync(jobStore, id)) return NoJob(id);
        RestoreRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<RestoreRequest>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or BadHttpRequestException)
        {
            return ApiErrors.Result(StatusCodes.Status400BadRequest, "(root)", "the body must be {\"step\": N, \"id\": \"new-id\"} (id optional)");
        }

        if (body?.Step is not { } step || step < 0)
            return ApiErrors.Result(StatusCodes.Status400BadRequest, "step", "give the step of a committed checkpoint (see /api/jobs/{id}/checkpoints)");
        try
        {
            var status = await submission.RestoreAsync(id, step, body.Id);
            return Results.Json(JobView.Of(status), statusCode: StatusCodes.Status201Created);
        }
        catch (KeyNotFoundException e)
        {
            return ApiErrors.Result(StatusCodes.Status404NotFound, "step", e.Message);
        }
        catch (JobSpecException e)
        {
            return Results.Json(ApiErrors.FromSpec(e), statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> Cancel(string id, IJobStore jobStore, IGrainFactory grains)
    {
        if (!await ExistsAsync(jobStore, id)) return NoJob(id);
        return Results.Json(JobView.Of(await grains.GetGrain<IJobGrain>(id).Cancel()));
    }

    /// <summary>True when <paramref name="id"/> is a well-formed id of a recorded job.</summary>
    internal static async Task<bool> ExistsAsync(IJobStore jobStore, string id) =>
        JobId().IsMatch(id) && await jobStore.GetJobAsync(id) is not null;

    private static IResult NoJob(string id) =>
        ApiErrors.Result(StatusCodes.Status404NotFound, "id", $"no job '{(id.Length > 64 ? id[..64] + "…" : id)}'");

    private static async Task<(string? Json, IResult? Error)> ReadSpecAsync(HttpRequest request)
    {
        if (request.ContentLength > JobSubmission.MaxSpecBytes)
            return (null, ApiErrors.Result(StatusCodes.Status413PayloadTooLarge, "(root)", $"a job spec is at most {JobSubmission.MaxSpecBytes} bytes"));
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = new StringBuilder();
        var chunk = new char[8192];
        int n;
        while (text.Length <= JobSubmission.MaxSpecBytes && (n = await reader.ReadAsync(chunk)) > 0) text.Append(chunk, 0, n);
        var read = text.Length;
        if (read > JobSubmission.MaxSpecBytes)
            return (null, ApiErrors.Result(StatusCodes.Status413PayloadTooLarge, "(root)", $"a job spec is at most {JobSubmission.MaxSpecBytes} bytes"));
        if (read == 0) return (null, ApiErrors.Result(StatusCodes.Status400BadRequest, "(root)", "the request body must be a job spec (JSON)"));
        return (text.ToString(), null);
    }
}
