using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Orchestrator.Grains.Telemetry;

/// <summary>
/// Gauges of each job's latest step on this silo: loss, job throughput, MaxVio, learning rate, and per MoE layer the
/// routed experts' loads and the norm of their biases. The job grain hands over rank 0's report (a reference swap: no
/// work per expert on the report path); the per-layer, per-expert measurements are built only when a reader (the
/// Prometheus scrape, the OTLP export) collects. A job's gauges go when its grain deactivates, so a job shows on the
/// silo that hosts its grain.
/// </summary>
public static class LatestSteps
{
    private sealed record Latest(string Job, long Epoch, StepMetrics Metrics, double JobTokensPerSecond);

    private static readonly ConcurrentDictionary<string, Latest> Jobs = new(StringComparer.Ordinal);

    /// <summary><c>orchestrator.step.loss</c>: total loss of the latest step; tags job, epoch.</summary>
    public static readonly ObservableGauge<double> Loss = OrchestratorTelemetry.Meter.CreateObservableGauge(
        "orchestrator.step.loss", () => Each(l => l.Metrics.Loss), null, "Total loss of the job's latest step");

    /// <summary><c>orchestrator.step.throughput</c>: tokens per second of the whole job (rank throughput × ranks) at the latest step.</summary>
    public static readonly ObservableGauge<double> Throughput = OrchestratorTelemetry.Meter.CreateObservableGauge(
        "orchestrator.step.throughput", () => Each(l => l.JobTokensPerSecond), "{token}/s", "Tokens per second of the whole job at its latest step");

    /// <summary><c>orchestrator.expert.max_violation</c>: the largest per-layer MaxVio of the latest step's expert loads.</summary>
    public static readonly ObservableGauge<double> MaxViolation = OrchestratorTelemetry.Meter.CreateObservableGauge(
        "orchestrator.expert.max_violation", () => Each(l => l.Metrics.MaxVio), null, "MaxVio of the latest step: (max load - mean load) / mean load, largest over the MoE layers");

    /// <summary><c>orchestrator.step.learning_rate</c>: the learning rate of the latest step.</summary>
    public static readonly ObservableGauge<double> LearningRate = OrchestratorTelemetry.Meter.CreateObservableGauge(
        "orchestrator.step.learning_rate", () => Each(l => l.Metrics.LearningRate), null, "Learning rate of the job's latest step");

    /// <summary><c>orchestrator.expert.load</c>: tokens routed to each expert at the latest step, summed over ranks; tags job, epoch, layer, expert.</summary>
    public static readonly ObservableGauge<long> ExpertLoad = OrchestratorTelemetry.Meter.CreateObservableGauge(
        "orchestrator.expert.load", ExpertLoads, "{token}", "Tokens routed to each expert at the job's latest step, summed over its ranks");

    /// <summary><c>orchestrator.expert.bias.norm</c>: the L2 norm of each MoE layer's expert biases after the latest step; tags job, epoch, layer.</summary>
    public static readonly ObservableGauge<double> BiasNorm = OrchestratorTelemetry.Meter.CreateObservableGauge(
        "orchestrator.expert.bias.norm", BiasNorms, null, "L2 norm of each MoE layer's routing biases after the job's latest step");

    /// <summary>Makes <paramref name="metrics"/> (rank 0's report) the latest step of <paramref name="job"/>.</summary>
    public static void Set(string job, long epoch, StepMetrics metrics, double jobTokensPerSecond) =>
        Jobs[job] = new Latest(job, epoch, metrics, jobTokensPerSecond);

    /// <summary>Forgets <paramref name="job"/>'s gauges (its grain leaves this silo).</summary>
    public static void Remove(string job) => Jobs.TryRemove(job, out _);

    private static IEnumerable<Measurement<double>> Each(Func<Latest, double> value)
    {
        foreach (var latest in Jobs.Values)
            yield return new Measurement<double>(value(latest), new(TelemetryTags.Job, latest.Job), new(TelemetryTags.Epoch, latest.Epoch));
    }

    private static IEnumerable<Measurement<long>> ExpertLoads()
    {
        foreach (var latest in Jobs.Values)
        {
            var loads = latest.Metrics.Loads;
            for (var layer = 0; layer < loads.Count; layer++)
                for (var expert = 0; expert < loads[layer].Length; expert++)
                    yield return new Measurement<long>(loads[layer][expert], new(TelemetryTags.Job, latest.Job), new(TelemetryTags.Epoch, latest.Epoch),
                        new(TelemetryTags.Layer, layer), new(TelemetryTags.Expert, expert));
        }
    }

    private static IEnumerable<Measurement<double>> BiasNorms()
    {
        foreach (var latest in Jobs.Values)
        {
            if (latest.Metrics.Biases is not { } biases) continue;
            for (var layer = 0; layer < biases.Count; layer++)
            {
                var sum = 0.0;
                foreach (var b in biases[layer]) sum += b * b;
                yield return new Measurement<double>(Math.Sqrt(sum), new(TelemetryTags.Job, latest.Job), new(TelemetryTags.Epoch, latest.Epoch), new(TelemetryTags.Layer, layer));
            }
        }
    }
}
