using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Kernels.Tests.Training.Pipeline;

/// <summary>
/// Every schedule over pp = 1…16 and micro-batches = pp…4·pp (DualPipeV: 2·pp…4·pp), run by the simulator:
/// no deadlock, every micro-batch's F before B before W on its stage (the simulator refuses otherwise), every
/// send received, the bubble the published formula gives and the activations the schedule promises.
/// </summary>
public sealed class PipelineScheduleTests
{
    private static readonly PipelineCosts[] Costs =
    [
        new(1, 1, 1),
        new(2, 2, 1),
        new(1, 1.5, 0.5),
        new(1, 1, 1, OverlappedPair: 2.5),
        new(1, 2, 1),
    ];

    public static TheoryData<string, int> Shapes()
    {
        var data = new TheoryData<string, int>();
        foreach (var s in PipelineSchedule.All)
        for (var pp = 1; pp <= 16; pp++)
            data.Add(s.Name, pp);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryShape_RunsWithoutDeadlockAndCompletes(string name, int pp)
    {
        var schedule = PipelineSchedule.Named(name)!;
        foreach (var m in MicroBatches(schedule, pp))
        {
            var plan = schedule.Build(pp, m);
            var timeline = PipelineSimulator.Run(plan, Costs[0]);
            Assert.Equal(pp, timeline.Intervals.Count);
            var computes = schedule is DualPipeVSchedule or ZeroBubbleSchedule ? 3 : 2;
            // Each rank runs every micro-batch through each of its chunks: one forward and one backward (split or not).
            foreach (var rank in timeline.Intervals)
                Assert.InRange(rank.Count, 2 * m * schedule.ChunksPerRank, computes * m * schedule.ChunksPerRank);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Bubble_IsThePublishedFormula(string name, int pp)
    {
        var schedule = PipelineSchedule.Named(name)!;
        foreach (var costs in Costs)
        foreach (var m in MicroBatches(schedule, pp))
        {
            var timeline = PipelineSimulator.Run(schedule.Build(pp, m), costs);
            var (f, b, w) = (costs.Forward, costs.Backward, costs.BackwardWeight);
            var expected = schedule switch
            {
                OneFOneBSchedule => (pp - 1) * (f + b),
                ZeroBubbleSchedule => (pp - 1) * (f + b - 2 * w),
                _ => (pp - 1) * (costs.Pair + b - 3 * w),
            };
            Assert.True(Math.Abs(timeline.Bubbles.Max() - expected) < 1e-9,
                $"{name} pp {pp} m {m} costs {costs}: bubble {timeline.Bubbles.Max()} (per rank {string.Join(", ", timeline.Bubbles)}), formula {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void PeakActivations_AreWhatTheSchedulePromises(string name, int pp)
    {
        var schedule = PipelineSchedule.Named(name)!;
        foreach (var m in MicroBatches(schedule, pp))
        {
            var peak = PipelineSimulator.Run(schedule.Build(pp, m), Costs[0]).PeakActivations;
            if (schedule is DualPipeVSchedule)
                // DualPipe's PP + 1 with PP the 2·pp chunks: counted in chunk activations, held until the chunk's W.
                Assert.Equal(2 * pp + 1, peak.Max());
            else
            {
                // 1F1B: the first stage holds pp micro-batches; each later stage one fewer (ZB1P holds its deferred W's instead).
                Assert.Equal(pp, peak[0]);
                Assert.True(peak.Max() <= pp, $"pp {pp} m {m}: peaks {string.Join(", ", peak)}");
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(16)]
    public void DualPipeV_ForwardLongerThanInputBackward_AddsThatDifferencePerStage(int pp)
    {
        // The published bound assumes B ≥ F for the input part; when F is longer, each of the pp − 1 hand-offs
        // of the warm-up waits F − B more (measured, not published).
        foreach (var costs in new PipelineCosts[] { new(3, 2, 2), new(2, 1, 1, OverlappedPair: 3.5) })
        foreach (var m in new[] { 2 * pp, 3 * pp })
        {
            var bubble = PipelineSimulator.Run(new DualPipeVSchedule().Build(pp, m), costs).Bubbles.Max();
            var formula = (pp - 1) * (costs.Pair + costs.Backward - 3 * costs.BackwardWeight);
            Assert.Equal(formula + (pp - 1) * (costs.Forward - costs.BackwardInput), bubble, 9);
        }
    }

    [Theory]
    [InlineData("1f1b")]
    [InlineData("zb1p")]
    [InlineData("dualpipev")]
    public void RendezvousSends_Deadlock_SoTheExecutorMustPostSends(string name)
    {
        // With a send that waits for its receive, stage r's activation send and stage r + 1's gradient send
        // wait for each other (Megatron pairs them in one batched exchange for this reason). The plans assume
        // posted sends (the mailbox transport's, NCCL's isend) and blocking receives.
        var schedule = PipelineSchedule.Named(name)!;
        var e = Assert.Throws<PipelineScheduleException>(() => PipelineSimulator.Run(schedule.Build(4, 8), Costs[0], rendezvous: true));
        Assert.StartsWith("deadlock: ", e.Message);
    }

    [Theory]
    [InlineData("1f1b", 4, 3)]
    [InlineData("zb1p", 8, 7)]
    [InlineData("dualpipev", 4, 7)]
    [InlineData("dualpipev", 1, 1)]
    public void TooFewMicroBatches_AreRefusedSayingWhy(string name, int pp, int m)
    {
        var schedule = PipelineSchedule.Named(name)!;
        var why = schedule.Refusal(pp, m);
        Assert.NotNull(why);
        Assert.Contains(name, why);
        Assert.Throws<ArgumentException>(() => schedule.Build(pp, m));
    }

    private static IEnumerable<int> MicroBatches(PipelineSchedule schedule, int pp) =>
        Enumerable.Range(schedule is DualPipeVSchedule ? 2 * pp : pp, schedule is DualPipeVSchedule ? 2 * pp + 1 : 3 * pp + 1);
}
