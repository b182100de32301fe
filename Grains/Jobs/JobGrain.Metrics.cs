using Orchestrator.Grains.Storage;
using Orchestrator.Grains.Telemetry;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's step metrics: rank 0's report of each step goes to the store (scalars, and the per-layer expert
/// loads and biases for the dashboard's heatmap), and a new activation reads the last stored step back. The same
/// report feeds the step instruments and this silo's gauges of the job's latest step (<see cref="StepInstruments"/>,
/// <see cref="LatestSteps"/>); an activation that goes takes its gauges with it.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>The (job, epoch) tags of the step instruments, built once per epoch rather than once per report.</summary>
    private KeyValuePair<string, object?>[]? _stepTags;

    private long _stepTagsEpoch;

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        LatestSteps.Remove(Id);
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <summary>Records rank 0's report of one step of <paramref name="epoch"/> in the step instruments and the latest-step gauges.</summary>
    private void RecordStep(long epoch, StepMetrics metrics)
    {
        if (_stepTags is null || _stepTagsEpoch != epoch)
        {
            _stepTags = TelemetryTags.Of(Id, epoch);
            _stepTagsEpoch = epoch;
        }

        StepInstruments.Record(metrics, Pipelines(), _stepTags);
        LatestSteps.Set(Id, epoch, metrics, _tokensPerSecond);
    }

    /// <summary>Stores rank 0's report of one step (its loads are already summed over all ranks).</summary>
    private async Task StoreStepAsync(StepMetrics metrics)
    {
        var at = DateTimeOffset.UtcNow;
        // A skipped step's loss is NaN: not stored (its alert says what it was), so the loss series stays a number.
        MetricSample[] loss = double.IsFinite(metrics.Loss) ? [new MetricSample(metrics.Step, "loss", metrics.Loss, at)] : [];
        MetricSample[] window = WindowedMaxVio(metrics) is { } vio ? [new MetricSample(metrics.Step, "max_vio_window", vio, at)] : [];
        await metricStore.AppendMetricsAsync(Id,
        [
            .. loss,
            new MetricSample(metrics.Step, "tokens_per_s", metrics.TokensPerSecond, at),
            new MetricSample(metrics.Step, "max_vio", metrics.MaxVio, at),
            .. window,
            new MetricSample(metrics.Step, "lr", metrics.LearningRate, at),
            new MetricSample(metrics.Step, "step_ms", metrics.StepSeconds * 1000, at),
            new MetricSample(metrics.Step, "control_ms", metrics.ControlSeconds * 1000, at),
            .. metrics.SnapshotSeconds is { } snapshot ? [new MetricSample(metrics.Step, "snapshot_ms", snapshot * 1000, at)] : Array.Empty<MetricSample>(),
            .. GrpoSamples(metrics, at),
        ]);
        await StoreExpertLoadsAsync(metrics, at);
        await StoreGrpoCompletionsAsync(metrics);
    }

    /// <summary>
    /// A new activation (its silo died, or the grain was collected) shows the last stored step as the old one
    /// did: loss, throughput, MaxVio, learning rate and step time, not zeros until the next report.
    /// </summary>
    private async Task RestoreLastStepAsync(CancellationToken cancellationToken)
    {
        var losses = await metricStore.QueryMetricsAsync(Id, new MetricQuery("loss"), cancellationToken);
        if (losses.Count == 0) return;
        var step = losses[^1].Step;
        _lastStepAt ??= losses[^1].At; // a recovery's detection time counts from the last step stored
        var samples = await metricStore.QueryMetricsAsync(Id, new MetricQuery(null, step, step), cancellationToken);
        double Of(string name) => samples.LastOrDefault(m => m.Name == name)?.Value ?? 0;
        _maxVioWindow = Of("max_vio_window");
        _last = new StepMetrics(step, losses[^1].Value, Of("tokens_per_s"), Of("max_vio"), Of("lr"), [])
        {
            StepSeconds = Of("step_ms") / 1000,
            ControlSeconds = Of("control_ms") / 1000,
        };
        _tokensPerSecond = _last.TokensPerSecond * Pipelines();
    }

    /// <summary>Stores rank 0's loads and biases of one step.</summary>
    private Task StoreExpertLoadsAsync(StepMetrics metrics, DateTimeOffset at)
    {
        if (metrics.Loads.Count == 0) return Task.CompletedTask;
        var samples = metrics.Loads
            .Select((loads, layer) => new ExpertLoadSample(metrics.Step, layer, loads,
                metrics.Biases is { } b && layer < b.Count ? b[layer] : [], at))
            .ToList();
        return metricStore.AppendExpertLoadsAsync(Id, samples);
    }

    /// <summary>
    /// How many ranks' worth of tokens a rank's throughput stands for: every rank trains its own rows, except that the
    /// stages of one pipeline train the same rows — so the ranks over the pipeline stages.
    /// </summary>
    private double Pipelines() => (_plan?.Ranks.Count ?? 1) / (double)Math.Max(_spec?.Layout.Stages ?? 1, 1);
}
