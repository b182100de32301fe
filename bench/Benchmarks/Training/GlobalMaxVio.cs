using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Benchmarks.Training;

/// <summary>
/// MaxVio of the loads summed over the last <c>window</c> steps, per MoE layer, then the max over
/// layers: the "global" balance a long run sees, which one step's noisy batch does not show.
/// </summary>
internal sealed class GlobalMaxVio(int window)
{
    private readonly Queue<IReadOnlyList<long[]>> _steps = new();
    private long[][]? _sums;

    /// <summary>True once a full window of steps has been seen; before that the figure covers fewer steps.</summary>
    public bool Full => _steps.Count == window;

    /// <summary>Adds one step's loads [layer][expert] and drops the step that fell out of the window.</summary>
    public void Add(IReadOnlyList<long[]> loads)
    {
        _sums ??= loads.Select(l => new long[l.Length]).ToArray();
        Accumulate(loads, +1);
        _steps.Enqueue(loads);
        if (_steps.Count > window) Accumulate(_steps.Dequeue(), -1);
    }

    /// <summary>Per layer MaxVio of the windowed sums.</summary>
    public double[] PerLayer() => _sums is null ? [] : _sums.Select(s => ExpertBalance.MaxViolation(s)).ToArray();

    /// <summary>Max over layers of <see cref="PerLayer"/>.</summary>
    public double Value => PerLayer() is { Length: > 0 } v ? v.Max() : 0;

    private void Accumulate(IReadOnlyList<long[]> loads, int sign)
    {
        for (var layer = 0; layer < loads.Count; layer++)
        {
            var sum = _sums![layer];
            for (var e = 0; e < sum.Length; e++) sum[e] += sign * loads[layer][e];
        }
    }
}
