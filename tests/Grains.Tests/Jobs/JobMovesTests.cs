using Orchestrator.Grains.Jobs;

namespace Orchestrator.Grains.Tests.Jobs;

/// <summary>The job's move table on its own: every row can be taken, nothing else is, and the ends are ends.</summary>
public sealed class JobMovesTests
{
    private static readonly JobPhase?[] Phases = [null, .. Enum.GetValues<JobPhase>().Cast<JobPhase?>()];

    /// <summary>Every combination of the guards' inputs that can tell rows apart (max_attempts 20: epoch 20 has one recovery left, 21 none).</summary>
    private static IEnumerable<JobFacts> AllFacts()
    {
        foreach (var epoch in new long[] { 1, 20, 21 })
        {
            for (var bits = 0; bits < 1 << 7; bits++)
            {
                bool Bit(int i) => (bits & (1 << i)) != 0;
                yield return new JobFacts
                {
                    Epoch = epoch, MaxRecoveries = 20, AllRanksFinished = Bit(0), Retryable = Bit(1), SpecError = Bit(2),
                    NodeInCurrentPlan = Bit(3), NodeInOldPlanUnrecorded = Bit(4) && !Bit(3), RecoveryTimedOut = Bit(5), WaitReported = Bit(6),
                };
            }
        }
    }

    [Fact]
    public void EveryRow_IsTheMoveFoundForSomeFacts_NoneIsShadowedByAnEarlierGuard()
    {
        var taken = AllFacts()
            .SelectMany(f => JobMoves.All.Select(m => (m.From, m.Trigger)).Distinct().Select(k => JobMoves.Find(k.From, k.Trigger, f)))
            .OfType<JobMove>()
            .ToHashSet();

        Assert.Empty(JobMoves.All.Where(m => !taken.Contains(m)).Select(m => m.ToString()));
    }

    [Fact]
    public void EveryRow_StartsFromAPhaseThatANewJobCanReach()
    {
        var reached = new HashSet<JobPhase?> { null };
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var move in JobMoves.All.Where(m => reached.Contains(m.From))) grew |= reached.Add(move.To);
        }

        Assert.Empty(JobMoves.All.Where(m => !reached.Contains(m.From)).Select(m => m.ToString()));
        Assert.Equal(
            [JobPhase.Submitted, JobPhase.Planning, JobPhase.Running, JobPhase.Recovering, JobPhase.Completed, JobPhase.Failed, JobPhase.Cancelled],
            reached.OfType<JobPhase>().Order());
    }

    [Fact]
    public void APhaseAndTriggerWithoutARow_IsRefused_NamingBoth()
    {
        foreach (var phase in Phases)
        {
            foreach (var trigger in Enum.GetValues<JobTrigger>().Where(t => !JobMoves.Handles(phase, t)))
            {
                var refused = Assert.Throws<InvalidOperationException>(() => JobMoves.Find(phase, trigger, new JobFacts()));
                Assert.Contains($"phase {phase?.ToString() ?? "(new)"} ", refused.Message, StringComparison.Ordinal);
                Assert.Contains($" on {trigger}", refused.Message, StringComparison.Ordinal);
            }
        }

        Assert.Throws<InvalidOperationException>(() => JobMoves.Find(JobPhase.Running, JobTrigger.Submit, new JobFacts()));
        Assert.Throws<InvalidOperationException>(() => JobMoves.Find(JobPhase.Submitted, JobTrigger.RankFinished, new JobFacts()));
    }

    [Theory]
    [InlineData(JobPhase.Completed)]
    [InlineData(JobPhase.Failed)]
    [InlineData(JobPhase.Cancelled)]
    public void ATerminalPhase_HasNoWayOut(JobPhase phase)
    {
        Assert.True(JobMoves.IsTerminal(phase));
        Assert.DoesNotContain(JobMoves.All, m => m.From == phase);
        Assert.All(Enum.GetValues<JobTrigger>(), t => Assert.False(JobMoves.Handles(phase, t)));
    }

    [Fact]
    public void OnlyCompletedFailedAndCancelled_AreTerminal_AndEveryOtherPhaseButTheUnusedPausedCanBeCancelled()
    {
        Assert.DoesNotContain(JobMoves.All, m => m.From == JobPhase.Paused || m.To == JobPhase.Paused);
        foreach (var phase in Enum.GetValues<JobPhase>().Where(p => !JobMoves.IsTerminal(p) && p != JobPhase.Paused))
            Assert.Equal(JobPhase.Cancelled, JobMoves.Find(phase, JobTrigger.Cancel, new JobFacts())!.To);
        Assert.Equal(3, Enum.GetValues<JobPhase>().Count(JobMoves.IsTerminal));
    }

    [Fact]
    public void EveryMove_RecordsAnEvent_AndEveryRecoveryGoesToANewEpoch()
    {
        Assert.All(JobMoves.All, m => Assert.NotEmpty(m.Records));
        Assert.All(JobMoves.All.Where(m => m.Records.Contains("recovering")), m => Assert.True(m.NextEpoch, m.ToString()));
        Assert.All(JobMoves.All.Where(m => !m.Records.Contains("recovering")), m => Assert.False(m.NextEpoch, m.ToString()));
    }

    [Theory]
    [InlineData(1L, true, JobPhase.Recovering)]
    [InlineData(20L, true, JobPhase.Recovering)]
    [InlineData(21L, true, JobPhase.Failed)] // the recoveries are used up
    [InlineData(1L, false, JobPhase.Failed)] // not retryable, or a single rank
    public void ARankFailure_RecoversWhileRecoveriesAreLeft_ElseFails(long epoch, bool retryable, JobPhase expected)
    {
        var move = JobMoves.Find(JobPhase.Running, JobTrigger.RankFailed, new JobFacts { Epoch = epoch, MaxRecoveries = 20, Retryable = retryable });

        Assert.Equal(expected, move!.To);
    }

    [Fact]
    public void ARecoveryWithoutDevices_RecordsItsWaitOnce_ThenFailsAtItsTimeout()
    {
        Assert.Equal(["waiting-for-nodes"], JobMoves.Find(JobPhase.Recovering, JobTrigger.NoDevices, new JobFacts())!.Records);
        Assert.Null(JobMoves.Find(JobPhase.Recovering, JobTrigger.NoDevices, new JobFacts { WaitReported = true }));
        Assert.Equal(JobPhase.Failed, JobMoves.Find(JobPhase.Recovering, JobTrigger.NoDevices, new JobFacts { WaitReported = true, RecoveryTimedOut = true })!.To);
    }

    [Fact]
    public void AFinishedRank_CompletesTheJob_OnlyWhenEveryRankHasFinished()
    {
        Assert.Null(JobMoves.Find(JobPhase.Running, JobTrigger.RankFinished, new JobFacts()));
        Assert.Equal(JobPhase.Completed, JobMoves.Find(JobPhase.Running, JobTrigger.RankFinished, new JobFacts { AllRanksFinished = true })!.To);
    }
}
