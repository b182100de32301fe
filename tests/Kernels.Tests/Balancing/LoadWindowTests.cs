using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Kernels.Tests.Balancing;

public sealed class LoadWindowTests
{
    [Fact]
    public void TheWindowsMaxVio_IsThatOfItsStepsLoadsSummed_TheWorstLayer()
    {
        var window = new LoadWindow(2);

        // Step 1 alone: layer 0 [3, 1] → 3/2 − 1 = 0.5; layer 1 [2, 2] → 0.
        Assert.Equal(0.5, window.Add(1, [[3, 1], [2, 2]]), 12);
        // Steps 1–2: layer 0 [4, 4] → 0; layer 1 [2, 6] → 6/4 − 1 = 0.5.
        Assert.Equal(0.5, window.Add(2, [[1, 3], [0, 4]]), 12);
        // Steps 2–3 (step 1 left): layer 0 [2, 4] → 4/3 − 1; layer 1 [2, 6] → 0.5.
        Assert.Equal(0.5, window.Add(3, [[1, 1], [2, 2]]), 12);
        Assert.Equal(2, window.Count);
        // Steps 3–4: layer 0 [2, 2] → 0; layer 1 [3, 3] → 0.
        Assert.Equal(0, window.Add(4, [[1, 1], [1, 1]]), 12);
    }

    [Fact]
    public void OpposedSteps_BalanceOverTheWindow_WhileEachStepAloneDoesNot()
    {
        var window = new LoadWindow(2);
        Assert.Equal(1.0, window.Add(1, [[4, 0]]), 12);
        Assert.Equal(0, window.Add(2, [[0, 4]]), 12);
        Assert.Equal(1.0, ExpertBalance.MaxViolation([0, 4]), 12); // the second step alone
    }

    [Fact]
    public void AReplayedStep_OrAnotherShape_StartsTheWindowAgain()
    {
        var window = new LoadWindow(4);
        window.Add(5, [[4, 0]]);
        window.Add(6, [[0, 4]]);
        Assert.Equal(0, window.MaxViolation, 12);

        Assert.Equal(1.0, window.Add(6, [[4, 0]]), 12); // step 6 again: a recovery replays from a checkpoint
        Assert.Equal(1, window.Count);
        Assert.Equal(0.5, window.Add(7, [[3, 1, 2]]), 12); // three experts now: the old sums cannot be added
        Assert.Equal(1, window.Count);
    }

    [Fact]
    public void ADenseModel_AndAnEmptyWindow_ReadZero_AndAWindowOfNoStepsIsRefused()
    {
        Assert.Equal(0, new LoadWindow(3).MaxViolation);
        Assert.Equal(0, new LoadWindow(3).Add(1, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoadWindow(0));
    }
}
