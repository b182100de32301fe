using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestrator.Grains;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Dashboard;

/// <summary>
/// Live updates as server-sent events. Each connection starts with everything the page needs (a
/// <c>reset</c>), then sends only what is new: the store and the grains are polled once per
/// <see cref="DashboardOptions.StreamInterval"/> on the server, never by the browser.
/// </summary>
public static class JobStreams
{
    /// <summary>Expert-load steps sent when a page connects (the heatmap's window).</summary>
    public const int ExpertLoadWindow = 300;

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>The cluster view, sent whenever it changes (and a ping when quiet for <see cref="DashboardOptions.StreamPing"/>).</summary>
    public static IResult Cluster(ClusterQueries cluster, IOptions<DashboardOptions> options, CancellationToken cancellation) =>
        TypedResults.ServerSentEvents(ClusterEvents(cluster, options.Value, cancellation));

    /// <summary>One job's status, events, metrics and expert loads as they arrive; ends once the job is final.</summary>
    public static async Task<IResult> Job(
        string id, IJobStore jobStore, IMetricStore metricStore, IGrainFactory grains, IOptions<DashboardOptions> options, CancellationToken cancellation)
    {
        if (!await JobsApi.ExistsAsync(jobStore, id))
            return ApiErrors.Result(StatusCodes.Status404NotFound, "id", $"no job '{(id.Length > 64 ? id[..64] : id)}'");
        return TypedResults.ServerSentEvents(JobEvents(id, jobStore, metricStore, grains.GetGrain<IJobGrain>(id), options.Value, cancellation));
    }

    private static async IAsyncEnumerable<SseItem<string>> ClusterEvents(
        ClusterQueries cluster, DashboardOptions options, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var interval = options.StreamInterval;
        string? last = null;
        var quiet = 0;
        while (!cancellation.IsCancellationRequested)
        {
            var view = await TryAsync(cluster.GetAsync, options.StreamCallTimeout);
            var now = view is null ? last : JsonSerializer.Serialize(view, Json);
            if (now != last)
            {
                last = now;
                quiet = 0;
                yield return new SseItem<string>(now!, "cluster");
            }
            else if (++quiet * interval >= options.StreamPing)
            {
                quiet = 0;
                yield return new SseItem<string>("{}", "ping");
            }

            await Delay(interval, cancellation);
        }
    }

    private static async IAsyncEnumerable<SseItem<string>> JobEvents(
        string id, IJobStore jobStore, IMetricStore metricStore, IJobGrain job, DashboardOptions options, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var interval = options.StreamInterval;
        JobStatus? status;
        while ((status = await TryAsync(job.GetStatus, options.StreamCallTimeout)) is null)
        {
            if (cancellation.IsCancellationRequested) yield break;
            await Delay(interval, cancellation);
        }

        yield return Item("reset", JobView.Of(status));
        long metricsFrom = 0, seq = 0;
        var loadsFrom = Math.Max(0, status.Step - ExpertLoadWindow);
        string? lastStatus = null;
        while (!cancellation.IsCancellationRequested)
        {
            status = await TryAsync(job.GetStatus, options.StreamCallTimeout) ?? status;
            var final = status.IsFinal;
            var statusJson = JsonSerializer.Serialize(JobView.Of(status), Json);
            if (statusJson != lastStatus)
            {
                lastStatus = statusJson;
                yield return new SseItem<string>(statusJson, "status");
            }

            var events = await jobStore.ListJobEventsAsync(id, seq, cancellationToken: cancellation);
            if (events.Count > 0)
            {
                seq = events[^1].Seq;
                yield return Item("events", events.Select(EventView.Of).ToList());
            }

            var metrics = await metricStore.QueryMetricsAsync(id, new MetricQuery(FromStep: metricsFrom), cancellation);
            if (metrics.Count > 0)
            {
                metricsFrom = metrics.Max(m => m.Step) + 1;
                yield return Item("metrics", MetricsView.Of(metrics));
            }

            var loads = await metricStore.QueryExpertLoadsAsync(id, loadsFrom, cancellationToken: cancellation);
            if (loads.Count > 0)
            {
                loadsFrom = loads[^1].Step + 1;
                yield return Item("experts", loads.Select(ExpertLoadView.Of).ToList());
            }

            // Metrics of the last step land just before the job turns final: one more round after that.
            if (final && events.Count == 0 && metrics.Count == 0 && loads.Count == 0)
            {
                yield return new SseItem<string>("{}", "end");
                yield break;
            }

            await Delay(interval, cancellation);
        }
    }

    // A grain on a silo that just died may not answer until the silo is declared dead; a stream skips
    // that tick rather than waiting (or ending): the next call reaches the grain's new activation.
    private static async Task<T?> TryAsync<T>(Func<Task<T>> call, TimeSpan timeout)
        where T : class
    {
        try
        {
            return await call().WaitAsync(timeout);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    private static SseItem<string> Item<T>(string type, T value) => new(JsonSerializer.Serialize(value, Json), type);

    private static async Task Delay(TimeSpan interval, CancellationToken cancellation)
    {
        try
        {
            await Task.Delay(interval, cancellation);
        }
        catch (OperationCanceledException)
        {
            // The browser went away; the loop ends.
        }
    }
}
