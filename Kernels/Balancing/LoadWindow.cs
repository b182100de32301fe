namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// MaxVio over the last <see cref="Steps"/> steps' loads summed, per layer, the largest over layers: the balance of
/// a batch of those steps' tokens. DeepSeek-V3 measures MaxVio per training batch (millions of tokens); one step of a
/// small job holds a thousand, and at 64 experts the sampling noise of a single step alone reads ≈ 0.25 however
/// well the biases balance, so a job reports both: the step's, and the window's.
/// </summary>
public sealed class LoadWindow
{
    private readonly Queue<(long Step, long[][] Loads)> _steps = new();
    private long[][]? _sums;

    /// <summary>A window of <paramref name="steps"/> steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is below 1.</exception>
    public LoadWindow(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        Steps = steps;
    }

    /// <summary>How many steps the window sums.</summary>
    public int Steps { get; }

    /// <summary>How many steps it holds now (fewer than <see cref="Steps"/> at the start).</summary>
    public int Count => _steps.Count;

    /// <summary>
    /// Adds step <paramref name="step"/>'s loads (per MoE layer, per expert) and returns the window's MaxVio. A step at
    /// or before the newest one held (a replay after a recovery) or of another shape starts the window again.
    /// </summary>
    public double Add(long step, IReadOnlyList<long[]> loads)
    {
        ArgumentNullException.ThrowIfNull(loads);
        if (_steps.Count > 0 && (step <= _steps.Last().Step || !SameShape(loads))) Clear();
        var copy = loads.Select(l => (long[])l.Clone()).ToArray();
        _sums ??= copy.Select(l => new long[l.Length]).ToArray();
        Accumulate(copy, +1);
        _steps.Enqueue((step, copy));
        if (_steps.Count > Steps) Accumulate(_steps.Dequeue().Loads, -1);
        return MaxViolation;
    }

    /// <summary>The window's MaxVio: over layers, the largest MaxVio of the summed loads (0 when empty or dense).</summary>
    public double MaxViolation => _sums is null || _sums.Length == 0 ? 0 : _sums.Max(l => ExpertBalance.MaxViolation(l));

    /// <summary>Forgets every step held.</summary>
    public void Clear()
    {
        _steps.Clear();
        _sums = null;
    }

    private bool SameShape(IReadOnlyList<long[]> loads) =>
        _sums is not null && _sums.Length == loads.Count && _sums.Zip(loads).All(p => p.First.Length == p.Second.Length);

    private void Accumulate(long[][] loads, int sign)
    {
        for (var layer = 0; layer < loads.Length; layer++)
            for (var expert = 0; expert < loads[layer].Length; expert++)
                _sums![layer][expert] += sign * loads[layer][expert];
    }
}
