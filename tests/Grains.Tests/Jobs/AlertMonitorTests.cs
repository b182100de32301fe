using System.Diagnostics;
using Orchestrator.Grains.Jobs;

namespace Orchestrator.Grains.Tests.Jobs;

/// <summary>The alert decisions from step reports, once per episode: NaN, spikes, MaxVio held high, stalled ranks.</summary>
public sealed class AlertMonitorTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch;

    private static StepMetrics Step(long step, double loss = 2.0, double maxVio = 0.1, double seconds = 0.1, bool skipped = false) =>
        new(step, loss, 100, maxVio, 1e-3, []) { StepSeconds = seconds, Skipped = skipped };

    [Fact]
    public void MaxVio_AboveTheThresholdForNSteps_RaisesOnePerEpisode()
    {
        var monitor = new AlertMonitor(new AlertPolicy(MaxVio: 0.5, MaxVioSteps: 3));
        var raised = new List<JobAlert>();
        double[] maxVio = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.2, 0.8, 0.8, 0.8];

        for (var i = 0; i < maxVio.Length; i++) raised.AddRange(monitor.OnStep(Step(i + 1, maxVio: maxVio[i]), At));

        Assert.Equal([6L, 12L], raised.Select(a => a.Step)); // 3 in a row at steps 4–6, again at 10–12 after it dropped; not at 7, 8
        Assert.All(raised, a => Assert.Equal(JobAlert.MaxVioHigh, a.Kind));
        Assert.Equal((0.8, 0.5, 3.0), (raised[1].Values["max_vio"], raised[1].Values["threshold"], raised[1].Values["steps"]));
    }

    [Fact]
    public void NoMaxVioThreshold_RaisesNothing()
    {
        var monitor = new AlertMonitor(AlertPolicy.Default);

        Assert.Empty(Enumerable.Range(1, 50).SelectMany(i => monitor.OnStep(Step(i, maxVio: 100), At)));
    }

    [Fact]
    public void ConsecutiveNanSteps_AreOneEpisode()
    {
        var monitor = new AlertMonitor(AlertPolicy.Default);
        double[] losses = [2, double.NaN, double.NaN, 2, double.PositiveInfinity];

        var raised = losses.SelectMany((loss, i) => monitor.OnStep(Step(i + 1, loss, skipped: !double.IsFinite(loss)), At)).ToList();

        Assert.Equal([(JobAlert.LossNan, 2L), (JobAlert.LossNan, 5L)], raised.Select(a => (a.Kind, a.Step)));
        Assert.Contains("not applied", raised[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASpike_AboveTheFactorTimesTheMedian_IsRaisedOnce_AndDoesNotBecomeTheReference()
    {
        var monitor = new AlertMonitor(new AlertPolicy(LossSpikeFactor: 3));
        double[] losses = [2.0, 2.1, 1.9, 2.0, 2.0, 7.0, 8.0, 2.0, 6.5];

        var raised = losses.SelectMany((loss, i) => monitor.OnStep(Step(i + 1, loss), At)).ToList();

        Assert.Equal([6L, 9L], raised.Select(a => a.Step));
        Assert.All(raised, a => Assert.Equal(JobAlert.LossSpike, a.Kind));
        Assert.Equal(2.0, raised[0].Values["median"]);
    }

    [Fact]
    public void ARankSilentPastTheLimit_IsStalled_OncePerEpisode()
    {
        var monitor = new AlertMonitor(new AlertPolicy(StallFactor: 10, StallMinSeconds: 1));
        var start = Stopwatch.GetTimestamp();
        monitor.Start(4, start);
        var second = Stopwatch.Frequency;
        Assert.Null(monitor.CheckStalls(start + 5 * second, 0, At)); // no step time yet: nothing to compare with

        monitor.OnStep(Step(1, seconds: 0.2), At); // limit: max(1 s, 10 × 0.2 s) = 2 s
        foreach (var rank in new[] { 0, 1, 3 }) monitor.Heard(rank, start + 4 * second);

        var alert = monitor.CheckStalls(start + 5 * second, 1, At);
        Assert.NotNull(alert);
        Assert.Equal((JobAlert.RankStalled, 1.0, 2.0), (alert.Kind, alert.Values["ranks"], alert.Values["first_rank"]));
        Assert.Equal(2.0, alert.Values["limit_s"], 6);
        Assert.Null(monitor.CheckStalls(start + 5 * second, 1, At)); // the same episode

        monitor.Heard(2, start + 6 * second); // it reports again: its episode ends
        var others = monitor.CheckStalls(start + 7 * second, 1, At); // the others have been silent 3 s by now
        Assert.NotNull(others);
        Assert.Equal((3.0, 0.0), (others.Values["ranks"], others.Values["first_rank"]));
        var again = monitor.CheckStalls(start + 9 * second, 1, At);
        Assert.NotNull(again);
        Assert.Equal((1.0, 2.0), (again.Values["ranks"], again.Values["first_rank"])); // rank 2's second episode
    }
}
