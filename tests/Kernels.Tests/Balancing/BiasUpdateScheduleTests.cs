using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Kernels.Tests.Balancing;

/// <summary>The early phase of the bias-update schedule: its γ, its validation, and that it undoes a collapse faster.</summary>
public sealed class BiasUpdateScheduleTests
{
    [Fact]
    public void GammaAt_UsesTheEarlySpeedForTheEarlySteps_ThenTheSpeed_AndTheFreezeWins()
    {
        var schedule = new BiasUpdateSchedule(0.01, FreezeStep: 200, EarlySpeed: 0.05, EarlySteps: 30);
        Assert.Equal([0.05, 0.05, 0.01, 0.01, 0.0], new long[] { 0, 29, 30, 199, 200 }.Select(schedule.GammaAt));
        Assert.Equal(0.0, new BiasUpdateSchedule(0.01, FreezeStep: 10, EarlySpeed: 0.05, EarlySteps: 10).GammaAt(10));
    }

    [Fact]
    public void From_ReadsTheTrainingConfig_AndWithoutAnEarlyPhaseIsTheConstantSchedule()
    {
        var training = new TrainingConfig { BiasUpdateSpeed = 0.01, BiasUpdateSpeedEarly = 0.05, BiasUpdateEarlySteps = 30, BiasUpdateFreezeStep = 500 };
        Assert.Equal(new BiasUpdateSchedule(0.01, 500, 0.05, 30), BiasUpdateSchedule.From(training));
        var constant = BiasUpdateSchedule.From(new TrainingConfig { BiasUpdateSpeed = 0.01 });
        Assert.All(new long[] { 0, 1, 29, 1000 }, step => Assert.Equal(0.01, constant.GammaAt(step)));
    }

    [Theory]
    [InlineData(-0.1, 10, 0, "training.bias_update_speed_early: must not be negative")]
    [InlineData(0.05, -1, 0, "training.bias_update_early_steps: must not be negative")]
    [InlineData(0.0, 10, 0, "training.bias_update_speed_early: must be set")]
    [InlineData(0.05, 0, 0, "training.bias_update_early_steps: must be set")]
    [InlineData(0.05, 50, 20, "training.bias_update_early_steps: must not pass training.bias_update_freeze_step")]
    public void Validate_RefusesAnInconsistentEarlyPhase_NamingTheField(double early, long steps, long freeze, string problem)
    {
        var training = new TrainingConfig { BiasUpdateSpeedEarly = early, BiasUpdateEarlySteps = steps, BiasUpdateFreezeStep = freeze };
        Assert.Contains(ConfigValidator.Validate(new ModelConfig(), training), p => p.StartsWith(problem, StringComparison.Ordinal));
        Assert.DoesNotContain(ConfigValidator.Validate(new ModelConfig(), new TrainingConfig { BiasUpdateSpeedEarly = 0.05, BiasUpdateEarlySteps = 30 }),
            p => p.Contains("bias_update", StringComparison.Ordinal));
    }

    /// <summary>
    /// A collapsed router (64 experts, top 6, affinities skewed so that a few experts win most tokens), balanced by V3's
    /// sign update: the early phase reaches a MaxVio of the loads summed over 8 steps below 0.2 in fewer steps than the
    /// constant γ, and ends below it (the same seeded tokens in both runs).
    /// </summary>
    [Fact]
    public void AnEarlyPhase_UndoesACollapsedRouterInFewerSteps_ThanTheConstantSpeed()
    {
        var constant = StepsToBalance(new BiasUpdateSchedule(0.01, 0), out _);
        var early = StepsToBalance(new BiasUpdateSchedule(0.01, 0, EarlySpeed: 0.05, EarlySteps: 30), out var earlyAfter);
        Assert.True(early < constant, $"early phase balanced at step {early}, the constant γ at {constant}");
        Assert.True(earlyAfter < 0.2, $"after balancing, the early phase's window read {earlyAfter:F3}");
    }

    private static int StepsToBalance(BiasUpdateSchedule schedule, out double windowAtEnd)
    {
        const int experts = 64, topK = 6, tokens = 1024, steps = 300, window = 8;
        var random = new Random(18);
        var skew = Enumerable.Range(0, experts).Select(e => 0.3 * Math.Log(1.0 / (1 + e))).ToArray(); // expert 0 favoured most
        var bias = new float[experts];
        var recent = new Queue<long[]>();
        var balancedAt = int.MaxValue;
        windowAtEnd = double.NaN;
        for (var step = 0; step < steps; step++)
        {
            var loads = new long[experts];
            for (var t = 0; t < tokens; t++)
            {
                var scores = Enumerable.Range(0, experts).Select(e => skew[e] + 0.2 * random.NextDouble() + bias[e]).ToArray();
                foreach (var e in Enumerable.Range(0, experts).OrderByDescending(e => scores[e]).Take(topK)) loads[e]++;
            }

            ExpertBalance.UpdateBias(bias, loads, schedule.GammaAt(step));
            recent.Enqueue(loads);
            if (recent.Count > window) recent.Dequeue();
            var summed = Enumerable.Range(0, experts).Select(e => recent.Sum(l => l[e])).ToArray();
            windowAtEnd = ExpertBalance.MaxViolation(summed);
            if (recent.Count == window && windowAtEnd < 0.2 && balancedAt == int.MaxValue) balancedAt = step + 1;
        }

        return balancedAt;
    }
}
