using Orchestrator.Grains.DataPlane;
using Orchestrator.Grains.Tests.Support;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.Tests.DataPlane;

/// <summary>The NCCL unique-id exchange of a job's ranks, through the real grain in a real silo.</summary>
public sealed class NcclRendezvousGrainTests(LocalSilo silo) : IClassFixture<LocalSilo>
{
    private INcclRendezvousGrain Grain() => silo.Grains.GetGrain<INcclRendezvousGrain>("job-" + Guid.NewGuid().ToString("N")[..8]);

    private static byte[] Id(byte fill) => Enumerable.Repeat(fill, NcclNative.UniqueIdBytes).ToArray();

    [Fact]
    public async Task Published_ThenFetched_ReturnsTheSameBytes()
    {
        var grain = Grain();
        await grain.Publish(1, Id(7));

        var id = await grain.Fetch(1, TimeSpan.FromSeconds(1));

        Assert.Equal(Id(7), id);
    }

    [Fact]
    public async Task FetchersWaitingBeforeThePublish_AllReceiveIt()
    {
        var grain = Grain();
        var fetchers = Enumerable.Range(0, 3).Select(_ => grain.Fetch(2, TimeSpan.FromSeconds(15))).ToArray();
        await Task.Delay(300);
        Assert.All(fetchers, f => Assert.False(f.IsCompleted));

        await grain.Publish(2, Id(3));
        var ids = await Task.WhenAll(fetchers);

        Assert.All(ids, id => Assert.Equal(Id(3), id));
    }

    [Fact]
    public async Task AnOlderEpoch_IsRefused_ForPublishAndFetch()
    {
        var grain = Grain();
        await grain.Publish(5, Id(1));

        await Assert.ThrowsAsync<StaleEpochException>(() => grain.Publish(4, Id(2)));
        await Assert.ThrowsAsync<StaleEpochException>(() => grain.Fetch(4, TimeSpan.FromSeconds(1)));
        Assert.Equal(Id(1), await grain.Fetch(5, TimeSpan.Zero));
    }

    [Fact]
    public async Task ANewerEpoch_RefusesTheWaitersOfTheOldOne_AndNeverHandsOutTheOldId()
    {
        var grain = Grain();
        await grain.Publish(1, Id(1));
        var oldWaiter = grain.Fetch(2, TimeSpan.FromSeconds(15)); // epoch 2 waits for its rank 0
        await Task.Delay(300);

        // Epoch 3 begins (recovery) before epoch 2's id ever came.
        var newWaiter = grain.Fetch(3, TimeSpan.FromSeconds(15));
        await Assert.ThrowsAsync<StaleEpochException>(() => oldWaiter);
        await Assert.ThrowsAsync<StaleEpochException>(() => grain.Publish(2, Id(2))); // a late rank 0 of epoch 2
        await grain.Publish(3, Id(3));

        Assert.Equal(Id(3), await newWaiter);
    }

    [Fact]
    public async Task NothingPublished_FetchAnswersNullAfterItsWait_AndTheRankSideTimesOut()
    {
        var grain = Grain();

        Assert.Null(await grain.Fetch(1, TimeSpan.FromMilliseconds(200)));
        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            NcclRendezvous.FetchAsync(grain, 1, TimeSpan.FromMilliseconds(600), CancellationToken.None));
        Assert.Contains("epoch 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStoppedRank_StopsWaiting_WithACollectiveAbort()
    {
        var grain = Grain();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAsync<CollectiveAbortedException>(() => NcclRendezvous.FetchAsync(grain, 1, TimeSpan.FromSeconds(30), stop.Token));
    }

    [Fact]
    public async Task ABadId_OrASecondIdForTheSameEpoch_IsRefused_AndTheFirstStays()
    {
        var grain = Grain();

        await Assert.ThrowsAsync<ArgumentException>(() => grain.Publish(1, new byte[16]));
        await grain.Publish(1, Id(9));
        await grain.Publish(1, Id(9)); // a retried publish of the same id is fine
        await Assert.ThrowsAsync<ArgumentException>(() => grain.Publish(1, Id(8)));

        Assert.Equal(Id(9), await grain.Fetch(1, TimeSpan.Zero));
    }
}
