namespace Orchestrator.Grains.Storage;

/// <summary>
/// A job's per-step figures in the index: named metric values and the per-layer expert loads and biases
/// (the dashboard's charts and heatmap). A replayed step overwrites what it reported before.
/// </summary>
/// <remarks>
/// Invalid input throws <see cref="ArgumentException"/> naming the argument and what is wrong with it,
/// before anything is written. Operations on a job that does not exist throw
/// <see cref="KeyNotFoundException"/>.
/// </remarks>
public interface IMetricStore
{
    /// <summary>
    /// Records metric samples of a job, all or none. A sample for a (name, step) already recorded replaces
    /// it: steps replayed after a recovery report again.
    /// </summary>
    Task AppendMetricsAsync(
        string jobId, IReadOnlyList<MetricSample> samples, CancellationToken cancellationToken = default);

    /// <summary>A job's metric samples, ordered by name then step.</summary>
    Task<IReadOnlyList<MetricSample>> QueryMetricsAsync(
        string jobId, MetricQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records the per-layer expert loads and biases of a job's steps, all or none. A (step, layer)
    /// already recorded is replaced (a replayed step reports again).
    /// </summary>
    Task AppendExpertLoadsAsync(
        string jobId, IReadOnlyList<ExpertLoadSample> samples, CancellationToken cancellationToken = default);

    /// <summary>A job's expert loads from <paramref name="fromStep"/> to <paramref name="toStep"/> (inclusive), ordered by step then layer.</summary>
    Task<IReadOnlyList<ExpertLoadSample>> QueryExpertLoadsAsync(
        string jobId, long fromStep = 0, long toStep = long.MaxValue, CancellationToken cancellationToken = default);
}
