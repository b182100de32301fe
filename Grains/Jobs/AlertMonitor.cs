using System.Diagnostics;
using System.Globalization;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// Decides, from a job's step reports, when an alert is due, once per episode: a NaN loss (consecutive NaN steps are one
/// episode), a loss spike (a finite loss above <see cref="AlertPolicy.LossSpikeFactor"/> × the median of the recent
/// losses), MaxVio above its threshold for <see cref="AlertPolicy.MaxVioSteps"/> steps in a row (until it comes back
/// under), a rank silent for <see cref="AlertPolicy.StallFactor"/> × the median step time (until it reports again).
/// Pure bookkeeping, O(1) a report and O(ranks) a stall check; the job grain records what it returns.
/// </summary>
internal sealed class AlertMonitor(AlertPolicy policy)
{
    private const int LossWindow = 20;
    private const int MinLossesForSpike = 5;
    private const int StepTimeWindow = 32;
    private const int RanksNamed = 16;

    private readonly Queue<double> _losses = new();
    private readonly Queue<double> _stepSeconds = new();
    private long[] _lastHeard = [];
    private bool[] _stalled = [];
    private bool _inNan;
    private bool _inSpike;
    private int _maxVioRun;
    private bool _maxVioRaised;

    /// <summary>A new plan's ranks start: every rank counts as just heard, and no rank as stalled.</summary>
    public void Start(int ranks, long now)
    {
        _lastHeard = new long[ranks];
        Array.Fill(_lastHeard, now);
        _stalled = new bool[ranks];
        _stepSeconds.Clear();
    }

    /// <summary>A step report of <paramref name="rank"/> came (at the <see cref="Stopwatch"/> time <paramref name="now"/>): it is not stalled.</summary>
    public void Heard(int rank, long now)
    {
        if ((uint)rank >= (uint)_lastHeard.Length) return;
        _lastHeard[rank] = now;
        _stalled[rank] = false;
    }

    /// <summary>The run of <paramref name="rank"/> ended: its silence from now on is no stall.</summary>
    public void Finished(int rank)
    {
        if ((uint)rank >= (uint)_stalled.Length) return;
        _lastHeard[rank] = long.MaxValue;
    }

    /// <summary>Rank 0's report of a step (the job's loss, MaxVio and step time): the alerts it starts.</summary>
    public IReadOnlyList<JobAlert> OnStep(StepMetrics step, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(step);
        var alerts = new List<JobAlert>();
        if (step.StepSeconds > 0)
        {
            _stepSeconds.Enqueue(step.StepSeconds);
            if (_stepSeconds.Count > StepTimeWindow) _stepSeconds.Dequeue();
        }

        if (!double.IsFinite(step.Loss))
        {
            if (!_inNan)
            {
                var done = step.Skipped ? "its update was not applied (alerts.on_nan: skip)" : "the step was not applied";
                alerts.Add(Alert(JobAlert.LossNan, step.Step, at, $"step {step.Step}: the loss is {Text(step.Loss)}; {done}",
                    ("loss", step.Loss), ("skipped", step.Skipped ? 1 : 0)));
            }

            _inNan = true;
        }
        else
        {
            _inNan = false;
            Spike(step, at, alerts);
        }

        MaxVio(step, at, alerts);
        return alerts;
    }

    /// <summary>The ranks silent for too long that were not yet reported (one alert for all of them), or null.</summary>
    public JobAlert? CheckStalls(long now, long step, DateTimeOffset at)
    {
        if (_stepSeconds.Count == 0) return null; // no step yet: set-up and checkpoint loading have no step time to compare with
        var median = Median(_stepSeconds);
        var limit = Math.Max(policy.StallMinSeconds, policy.StallFactor * median);
        List<int>? stalled = null;
        var longest = 0.0;
        for (var rank = 0; rank < _lastHeard.Length; rank++)
        {
            if (_stalled[rank] || _lastHeard[rank] == long.MaxValue) continue; // already reported, or finished
            var silent = Stopwatch.GetElapsedTime(_lastHeard[rank], now).TotalSeconds;
            if (silent <= limit) continue;
            _stalled[rank] = true;
            (stalled ??= []).Add(rank);
            longest = Math.Max(longest, silent);
        }

        if (stalled is null) return null;
        var named = string.Join(", ", stalled.Take(RanksNamed)) + (stalled.Count > RanksNamed ? $" and {stalled.Count - RanksNamed} more" : "");
        return Alert(JobAlert.RankStalled, step, at,
            string.Create(CultureInfo.InvariantCulture, $"rank(s) {named} sent no step report for {longest:F1} s (limit {limit:F1} s: {policy.StallFactor} × the median step time {median:F3} s, at least {policy.StallMinSeconds} s)"),
            ("ranks", stalled.Count), ("first_rank", stalled[0]), ("silent_s", longest), ("median_step_s", median), ("limit_s", limit));
    }

    private void Spike(StepMetrics step, DateTimeOffset at, List<JobAlert> alerts)
    {
        if (policy.LossSpikeFactor > 0 && _losses.Count >= MinLossesForSpike)
        {
            var median = Median(_losses);
            if (step.Loss > policy.LossSpikeFactor * median)
            {
                if (!_inSpike)
                    alerts.Add(Alert(JobAlert.LossSpike, step.Step, at,
                        string.Create(CultureInfo.InvariantCulture, $"step {step.Step}: the loss {step.Loss:G6} is above {policy.LossSpikeFactor} × the median {median:G6} of the last {_losses.Count} steps"),
                        ("loss", step.Loss), ("median", median), ("factor", policy.LossSpikeFactor)));
                _inSpike = true;
                return; // a spike does not become the reference
            }
        }

        _inSpike = false;
        _losses.Enqueue(step.Loss);
        if (_losses.Count > LossWindow) _losses.Dequeue();
    }

    private void MaxVio(StepMetrics step, DateTimeOffset at, List<JobAlert> alerts)
    {
        if (policy.MaxVio is not { } threshold) return;
        if (!(step.MaxVio > threshold))
        {
            (_maxVioRun, _maxVioRaised) = (0, false);
            return;
        }

        _maxVioRun++;
        if (_maxVioRun < policy.MaxVioSteps || _maxVioRaised) return;
        _maxVioRaised = true;
        alerts.Add(Alert(JobAlert.MaxVioHigh, step.Step, at,
            string.Create(CultureInfo.InvariantCulture, $"step {step.Step}: MaxVio {step.MaxVio:G4} has been above {threshold} for {_maxVioRun} steps in a row"),
            ("max_vio", step.MaxVio), ("threshold", threshold), ("steps", _maxVioRun)));
    }

    private static JobAlert Alert(string kind, long step, DateTimeOffset at, string message, params (string Name, double Value)[] values) =>
        new(kind, step, message, values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal), at);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static string Text(double value) => double.IsNaN(value) ? "NaN" : value.ToString(CultureInfo.InvariantCulture);
}
