using System.Text.Json;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Storage;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Silo.Training;

/// <summary>
/// The <see cref="RunSummary"/> of a job that ran in a cluster (the demo's), read from what the job stored:
/// its metrics, its committed checkpoints and its events, so every field is what the index says.
/// </summary>
public static class JobRunSummary
{
    /// <param name="store">The job's index.</param>
    /// <param name="final">The job's last status.</param>
    /// <param name="spec">The job's spec (its batch shape and rank count give the tokens per step).</param>
    /// <param name="storageRoot">The checkpoint storage root of the job's nodes.</param>
    /// <param name="seconds">Wall time from the submission to the job's end.</param>
    public static async Task<RunSummary> ReadAsync(SqlMetadataStore store, JobStatus final, JobSpec spec, string storageRoot, double seconds)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(final);
        ArgumentNullException.ThrowIfNull(spec);
        var metrics = await store.QueryMetricsAsync(final.Id, MetricQuery.All);
        double[] Series(string name) => metrics.Where(m => m.Name == name).OrderBy(m => m.Step).Select(m => m.Value).ToArray();
        var losses = Series("loss");
        var vio = Series("max_vio");
        var window = Series("max_vio_window");
        var stepSeconds = Series("step_ms").Sum() / 1000;
        var config = spec.Run.Config();
        var training = config.Training!;
        // Every rank trains its own rows (EP ranks are data-parallel for the dense layers): the job's tokens per step.
        var tokensPerStep = (long)training.SequenceLength * training.MicroBatchSize * training.GradientAccumulation * spec.Layout.Ep * spec.Layout.Dp;
        var tokens = losses.LongLength * tokensPerStep;
        var newest = (await store.ListCheckpointsAsync(final.Id)).MaxBy(c => c.Step);
        var counts = ParameterCount.For(config.Model!);
        return new RunSummary
        {
            Steps = final.Step,
            StepsThisRun = losses.Length,
            LossFirst = losses.Length > 0 ? losses[0] : double.NaN,
            LossLast = losses.Length > 0 ? losses[^1] : double.NaN,
            // As `train` reports it: tokens over the steps' own time (not an average of per-step rates).
            TokensPerSecond = stepSeconds > 0 ? tokens / stepSeconds : 0,
            MaxVioLast = vio.Length > 0 ? vio[^1] : 0,
            MaxVioWindowLast = window.Length > 0 ? window[^1] : null,
            ParamsTotal = counts.Total,
            ParamsActive = counts.Activated,
            TokensSeen = tokens,
            Seconds = seconds,
            LastCheckpoint = newest is null ? null : Path.Combine(ShardPaths.JobFolder(storageRoot, final.Id), ShardPaths.StepFolder(newest.Step)),
            Losses = losses,
            MaxVio = vio,
            MaxVioWindow = window,
            Ranks = await DataPlanes(store, final.Id),
        };
    }

    /// <summary>Each rank's data plane, from the job's <c>data-plane</c> events (the newest epoch's, by rank).</summary>
    private static async Task<IReadOnlyList<RankDataPlaneSummary>> DataPlanes(IJobStore jobStore, string jobId)
    {
        var events = await jobStore.ListJobEventsAsync(jobId);
        // An event holds a batch of ranks' reports ({ranks: [...]}); one written before batching held one rank.
        return events.Where(e => e.Kind == "data-plane" && e.DetailJson is not null)
            .SelectMany(e => JsonSerializer.Deserialize<DataPlaneBatch>(e.DetailJson!)!.Ranks is { } ranks ? ranks : [JsonSerializer.Deserialize<RankDataPlaneSummary>(e.DetailJson!)!])
            .GroupBy(r => r.Rank)
            .Select(g => g.MaxBy(r => r.Epoch)!)
            .OrderBy(r => r.Rank)
            .ToArray();
    }

    private sealed record DataPlaneBatch([property: System.Text.Json.Serialization.JsonPropertyName("ranks")] IReadOnlyList<RankDataPlaneSummary>? Ranks);
}
