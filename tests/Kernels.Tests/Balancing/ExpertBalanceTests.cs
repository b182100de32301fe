using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Kernels.Tests.Balancing;

public sealed class ExpertBalanceTests
{
    [Fact]
    public void BiasUpdate_MovesOverloadedDown_UnderloadedUp_ByExactlyGamma()
    {
        float[] bias = [0.5f, 0.5f, 0.5f, 0.5f];
        long[] loads = [10, 0, 5, 5]; // mean 5

        ExpertBalance.UpdateBias(bias, loads, gamma: 0.25);

        Assert.Equal([0.25f, 0.75f, 0.5f, 0.5f], bias);
    }

    [Fact]
    public void BiasUpdate_WithZeroGamma_ChangesNothing()
    {
        float[] bias = [0.1f, -0.2f];
        ExpertBalance.UpdateBias(bias, [7, 1], gamma: 0);
        Assert.Equal([0.1f, -0.2f], bias);
    }

    [Fact]
    public void BiasUpdate_RejectsMismatchedLengths()
    {
        var error = Assert.Throws<ArgumentException>(() => ExpertBalance.UpdateBias(new float[3], new long[4], 0.1));
        Assert.Contains("3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { 4, 4, 4, 4 }, 0.0)]
    [InlineData(new long[] { 8, 0, 4, 4 }, 1.0)]
    [InlineData(new long[] { 6, 2 }, 0.5)]
    [InlineData(new long[] { 0, 0 }, 0.0)]
    public void MaxViolation_IsMaxOverMeanMinusOne(long[] loads, double expected)
    {
        Assert.Equal(expected, ExpertBalance.MaxViolation(loads), 12);
    }

    [Fact]
    public void Schedule_FreezesGammaFromTheFreezeStep()
    {
        var schedule = new BiasUpdateSchedule(0.001, FreezeStep: 100);
        Assert.Equal(0.001, schedule.GammaAt(99));
        Assert.Equal(0.0, schedule.GammaAt(100));
        Assert.Equal(0.001, new BiasUpdateSchedule(0.001, 0).GammaAt(1_000_000));
    }
}
