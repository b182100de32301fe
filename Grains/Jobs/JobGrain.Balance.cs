using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job's balance over a window: MaxVio of the last <see cref="BalanceWindowSteps"/> steps' loads summed
/// (<see cref="LoadWindow"/>), beside each step's own — stored as the metric <c>max_vio_window</c> and shown in the
/// status, so a small job's balancing is visible through the sampling noise of its single steps.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>Steps the windowed MaxVio sums (8 steps of the demo's 1,024 tokens: 8,192 tokens).</summary>
    public const int BalanceWindowSteps = 8;

    private readonly LoadWindow _loadWindow = new(BalanceWindowSteps);
    private double _maxVioWindow;

    /// <summary>Adds rank 0's loads of a step to the window; the window's MaxVio, or null when the step carries no loads.</summary>
    private double? WindowedMaxVio(StepMetrics metrics)
    {
        if (metrics.Loads.Count == 0) return null;
        _maxVioWindow = _loadWindow.Add(metrics.Step, metrics.Loads);
        return _maxVioWindow;
    }
}
