using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Jobs;

/// <summary>The job's per-layer expert loads and biases, stored each step for the dashboard's heatmap.</summary>
public sealed partial class JobGrain
{
    /// <summary>Stores rank 0's loads (already summed over all ranks) and biases of one step.</summary>
    private Task StoreExpertLoadsAsync(StepMetrics metrics, DateTimeOffset at)
    {
        if (metrics.Loads.Count == 0) return Task.CompletedTask;
        var samples = metrics.Loads
            .Select((loads, layer) => new ExpertLoadSample(metrics.Step, layer, loads,
                metrics.Biases is { } b && layer < b.Count ? b[layer] : [], at))
            .ToList();
        return metricStore.AppendExpertLoadsAsync(Id, samples);
    }
}
