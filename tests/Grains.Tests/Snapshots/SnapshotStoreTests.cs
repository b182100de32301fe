using Orchestrator.Grains.Snapshots;

namespace Orchestrator.Grains.Tests.Snapshots;

/// <summary>
/// A holder's memory bound: per source rank only the newest complete snapshot (the sender's <c>Keep</c>) and the one
/// being written; parts in order; an older epoch refused; the buddy ring over the plan's nodes.
/// </summary>
public sealed class SnapshotStoreTests
{
    private static SnapshotPart Part(int rank, long step, long keep, int index, int count, int bytes = 3) =>
        new(rank, step, keep, index, count, new byte[bytes]) { Tensors = index == 0 ? ["model/w"] : null, StateJson = index == 0 ? "{}" : null };

    [Fact]
    public void OnlyTheNewestCompleteCopy_AndTheOneBeingWritten_AreKept()
    {
        var store = new SnapshotStore();
        store.Put(1, Part(0, 1, -1, 0, 1));
        store.Put(1, Part(0, 2, 1, 0, 1));
        store.Put(1, Part(0, 3, 2, 0, 2)); // step 3 being written: step 2 (complete) stays, step 1 goes

        Assert.Equal(2, store.CopiesOf(0));
        Assert.Equal([2L], store.Inventory().Select(h => h.Step));
        store.Put(1, Part(0, 3, 2, 1, 2));
        Assert.Equal([2L, 3L], store.Inventory().Select(h => h.Step));
        Assert.Equal(6, store.Inventory().Single(h => h.Step == 3).Bytes);

        store.Put(1, Part(0, 4, -1, 0, 1)); // nothing known complete: only the new one
        Assert.Equal([4L], store.Inventory().Select(h => h.Step));
        Assert.Equal(3, store.Bytes);
    }

    [Fact]
    public void Ranks_AreKeptApart_AndReadBackPartByPart()
    {
        var store = new SnapshotStore();
        store.Put(2, new SnapshotPart(0, 5, -1, 0, 2, [1, 2]) { Tensors = ["a"], StateJson = "{\"Step\":5}" });
        store.Put(2, new SnapshotPart(0, 5, -1, 1, 2, [3]));
        store.Put(2, Part(1, 5, -1, 0, 1));

        Assert.Equal([(0, 5L), (1, 5L)], store.Inventory().Select(h => (h.Rank, h.Step)));
        Assert.Equal([1, 2], store.Read(0, 5, 0));
        Assert.Equal([3], store.Read(0, 5, 1));
        Assert.Equal("{\"Step\":5}", store.Inventory()[0].StateJson);
        Assert.Throws<KeyNotFoundException>(() => store.Read(0, 4, 0));
    }

    [Fact]
    public void APartOutOfOrder_OrOfAnOlderEpoch_IsRefused_AndLosesNothingHeld()
    {
        var store = new SnapshotStore();
        store.Put(2, Part(0, 5, -1, 0, 1));

        Assert.Throws<StaleEpochException>(() => store.Put(1, Part(0, 6, 5, 0, 1)));
        Assert.Throws<ArgumentException>(() => store.Put(2, Part(0, 6, 5, 1, 2)));
        Assert.Throws<ArgumentException>(() => store.Put(2, new SnapshotPart(0, 6, 5, 0, 1, [1])));
        Assert.Equal([5L], store.Inventory().Select(h => h.Step));
        Assert.Throws<KeyNotFoundException>(() => store.Read(0, 6, 0));
    }

    [Fact]
    public void TheRing_GoesOverThePlansNodes_OwnNodeFirst_AndHasNoBuddyOnOneNode()
    {
        RankAssignment[] plan = [new(0, 0, 0, "n1", "cpu:0"), new(1, 1, 0, "n1", "cpu:1"), new(2, 0, 1, "n2", "cpu:0"), new(3, 1, 1, "n3", "cpu:0")];

        Assert.Equal(["n1", "n2"], SnapshotRing.HoldersOf("n1", plan, 1));
        Assert.Equal(["n3", "n1"], SnapshotRing.HoldersOf("n3", plan, 1));
        Assert.Equal(["n2", "n3", "n1"], SnapshotRing.HoldersOf("n2", plan, 2));
        Assert.Equal(["n1", "n2"], SnapshotRing.HoldersOf("n1", plan[..3], 2)); // two nodes: one buddy at most
        Assert.Empty(SnapshotRing.HoldersOf("n1", plan[..2], 1));
        Assert.Empty(SnapshotRing.HoldersOf("n1", plan, 0));
        Assert.Empty(SnapshotRing.Nodes(plan[..2], 1));
    }
}
