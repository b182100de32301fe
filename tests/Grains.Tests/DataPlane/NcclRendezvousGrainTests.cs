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
        await grain.Publish(1, 0, Id(7));

        var id = await grain.Fetch(1, 0, TimeSpan.FromSeconds(1));

        Assert.Equal(Id(7), id);
    }

    [Fact]
    public async Task FetchersWaitingBeforeThePublish_AllReceiveIt()
    {
        var grain = Grain();
        var fetchers = Enumerable.Range(0, 3).Select(_ => grain.Fetch(2, 0, TimeSpan.FromSeconds(15))).ToArray();
        await Task.Delay(300);
        Assert.All(fetchers, f => Assert.False(f.IsCompleted));

        await grain.Publish(2, 0, Id(3));
        var ids = await Task.WhenAll(fetchers);

        Assert.All(ids, id => Assert.Equal(Id(3), id));
    }

    [Fact]
    public async Task AnOlderEpoch_IsRefused_ForPublishAndFetch()
    {
        var grain = Grain();
        await grain.Publish(5, 0, Id(1));

        await Assert.ThrowsAsync<StaleEpochException>(() => grain.Publish(4, 0, Id(2)));
        await Assert.ThrowsAsync<StaleEpochException>(() => grain.Fetch(4, 0, TimeSpan.FromSeconds(1)));
        Assert.Equal(Id(1), await grain.Fetch(5, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task ANewerEpoch_RefusesTheWaitersOfTheOldOne_AndNeverHandsOutTheOldId()
    {
        var grain = Grain();
        await grain.Publish(1, 0, Id(1));
        var oldWaiter = grain.Fetch(2, 0, TimeSpan.FromSeconds(15)); // epoch 2 waits for its rank 0
        await Task.Delay(300);

        // Epoch 3 begins (recovery) before epoch 2's id ever came.
        var newWaiter = grain.Fetch(3, 0, TimeSpan.FromSeconds(15));
        await Assert.ThrowsAsync<StaleEpochException>(() => oldWaiter);
        await Assert.ThrowsAsync<StaleEpochException>(() => grain.Publish(2, 0, Id(2))); // a late rank 0 of epoch 2
        await grain.Publish(3, 0, Id(3));

        Assert.Equal(Id(3), await newWaiter);
    }

    [Fact]
    public async Task NothingPublished_FetchAnswersNullAfterItsWait_AndTheRankSideTimesOut()
    {
        var grain = Grain();

        Assert.Null(await grain.Fetch(1, 0, TimeSpan.FromMilliseconds(200)));
        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            NcclRendezvous.FetchAsync(grain, 1, 0, TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(20), CancellationToken.None));
        Assert.Contains("epoch 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachProcessGroup_HasItsOwnId_AndANewEpochForgetsThemAll()
    {
        var grain = Grain();
        var replicaWaiter = grain.Fetch(1, 4, TimeSpan.FromSeconds(15));
        await grain.Publish(1, 0, Id(10));
        await grain.Publish(1, 1, Id(11));
        await Task.Delay(200);

        Assert.False(replicaWaiter.IsCompleted); // group 4's first rank has not published yet
        Assert.Equal(Id(10), await grain.Fetch(1, 0, TimeSpan.Zero));
        Assert.Equal(Id(11), await grain.Fetch(1, 1, TimeSpan.Zero));
        await grain.Publish(1, 4, Id(14));
        Assert.Equal(Id(14), await replicaWaiter);

        Assert.Null(await grain.Fetch(2, 1, TimeSpan.FromMilliseconds(100))); // epoch 2: nothing published yet
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => grain.Fetch(2, -1, TimeSpan.Zero));
    }

    [Fact]
    public async Task AStoppedRank_StopsWaiting_WithACollectiveAbort()
    {
        var grain = Grain();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAsync<CollectiveAbortedException>(() => NcclRendezvous.FetchAsync(grain, 1, 0, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20), stop.Token));
    }

    [Fact]
    public async Task ABadId_OrASecondIdForTheSameEpoch_IsRefused_AndTheFirstStays()
    {
        var grain = Grain();

        await Assert.ThrowsAsync<ArgumentException>(() => grain.Publish(1, 0, new byte[16]));
        await grain.Publish(1, 0, Id(9));
        await grain.Publish(1, 0, Id(9)); // a retried publish of the same id is fine
        await Assert.ThrowsAsync<ArgumentException>(() => grain.Publish(1, 0, Id(8)));

        Assert.Equal(Id(9), await grain.Fetch(1, 0, TimeSpan.Zero));
    }
}
