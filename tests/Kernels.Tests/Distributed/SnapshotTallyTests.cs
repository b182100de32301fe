using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>
/// The peer snapshots' agreement rides in the step's loss all-reduce: every rank learns the same tally of the ranks'
/// previous snapshots (in flight, failed), and the losses and the go-on vote are what they are without it.
/// </summary>
public sealed class SnapshotTallyTests
{
    public SnapshotTallyTests() => Torch.Ready();

    [Fact]
    public async Task EveryRank_LearnsTheSameTally_AndTheLossesAreUnchanged()
    {
        using var group = new InProcessGroup(4);
        SnapshotSendState[] states = [SnapshotSendState.Arrived, SnapshotSendState.InFlight, SnapshotSendState.Failed, SnapshotSendState.InFlight];
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(rank => Task.Run(() =>
            GradientSync.MeanOverRanks(group.Collective(rank), rank, 2.0 * rank, 0.5, 0.1 * rank, goOn: rank != 2, states[rank])))).WaitAsync(TimeSpan.FromSeconds(30));

        foreach (var (a, b, c, d, goOn, tally) in results)
        {
            Assert.Equal((0 + 1 + 2 + 3) / 4.0, a);
            Assert.Equal(2.0 * (0 + 1 + 2 + 3) / 4.0, b);
            Assert.Equal(0.5, c);
            Assert.Equal(0.15, d, 12);
            Assert.False(goOn);
            Assert.Equal(new SnapshotTally(InFlight: 2, Failed: 1), tally);
            Assert.False(tally.AllArrived);
        }
    }

    [Fact]
    public async Task WhenEverySendArrived_TheTallySaysSo()
    {
        using var group = new InProcessGroup(2);
        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(() =>
            GradientSync.MeanOverRanks(group.Collective(rank), 1, 1, 1, 1, goOn: true)))).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(results, r => Assert.True(r.Item6.AllArrived));
        Assert.All(results, r => Assert.True(r.Item5));
    }

    [Theory]
    [InlineData(SnapshotSendState.Arrived, 0, 0)]
    [InlineData(SnapshotSendState.InFlight, 1, 0)]
    [InlineData(SnapshotSendState.Failed, 0, 1)]
    public void OneRanksTally_CountsItsOwnState(SnapshotSendState state, int inFlight, int failed) =>
        Assert.Equal(new SnapshotTally(inFlight, failed), SnapshotTally.Of(state));
}
