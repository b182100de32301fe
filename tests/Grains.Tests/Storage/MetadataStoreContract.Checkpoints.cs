using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The <see cref="ICheckpointIndex"/> part of the contract: commit is one fenced transaction, and only committed rows exist.</summary>
public abstract partial class MetadataStoreContract
{
    private static readonly string HashA = new('a', 64);
    private static readonly string HashB = new('b', 64);

    [Fact]
    public async Task CommitCheckpoint_ThenListAndGet_ReturnItWithItsShardsInRankOrder()
    {
        await RunningJobAsync("j1", epoch: 1);
        var manifest = Manifest("j1", step: 4, epoch: 1,
            new CheckpointShard(1, "j1/00000004/rank-1-e1.ota", 30, HashB, ["model/e.1", "adam/e.1.m"]),
            new CheckpointShard(0, "j1/00000004/rank-0-e1.ota", 70, HashA, ["model/dense", "adam/dense.m"]));
        Clock.Advance(TimeSpan.FromSeconds(3));

        var committed = await Checkpoints.CommitCheckpointAsync(manifest);

        Assert.NotNull(committed);
        Assert.Equal(Clock.GetUtcNow(), committed.CommittedAt);
        var listed = Assert.Single(await Checkpoints.ListCheckpointsAsync("j1"));
        Assert.Equal(4, listed.Step);
        Assert.Equal(1, listed.Epoch);
        Assert.Equal(100, listed.Bytes);
        Assert.Equal(1.5, listed.DurationSeconds);
        Assert.Equal(Clock.GetUtcNow(), listed.CommittedAt);
        Assert.Contains("\"step\":4", listed.StateJson.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal([0, 1], listed.Shards.Select(s => s.Rank));
        Assert.Equal(["model/dense", "adam/dense.m"], listed.Shards[0].Tensors);
        Assert.Equal(HashB, listed.Shards[1].Sha256);
        Assert.Equal("j1/00000004/rank-1-e1.ota", listed.Shards[1].Path);
        Assert.Equal(4, (await Checkpoints.GetCheckpointAsync("j1"))!.Step);
    }

    [Fact]
    public async Task GetCheckpoint_WithoutStep_IsTheLatest_AndWithAStepThatOne()
    {
        await RunningJobAsync("j1", epoch: 1);
        foreach (var step in new long[] { 2, 6, 4 })
        {
            await Checkpoints.CommitCheckpointAsync(Manifest("j1", step, 1, Shard(0, "j1", step, 1)));
        }

        Assert.Equal(6, (await Checkpoints.GetCheckpointAsync("j1"))!.Step);
        Assert.Equal(4, (await Checkpoints.GetCheckpointAsync("j1", 4))!.Step);
        Assert.Null(await Checkpoints.GetCheckpointAsync("j1", 5));
        Assert.Equal([2L, 4, 6], (await Checkpoints.ListCheckpointsAsync("j1")).Select(c => c.Step));
    }

    [Fact]
    public async Task CommitCheckpoint_FromAnotherEpoch_IsRefusedAndWritesNothing()
    {
        await RunningJobAsync("j1", epoch: 2);

        Assert.Null(await Checkpoints.CommitCheckpointAsync(Manifest("j1", 4, 1, Shard(0, "j1", 4, 1))));
        Assert.Null(await Checkpoints.CommitCheckpointAsync(Manifest("j1", 4, 3, Shard(0, "j1", 4, 3))));

        Assert.Empty(await Checkpoints.ListCheckpointsAsync("j1"));
        Assert.Null(await Checkpoints.GetCheckpointAsync("j1"));
    }

    [Fact]
    public async Task CommitCheckpoint_WithAnEvent_RecordsBothTogether_AndAStaleOneRecordsNeither()
    {
        await RunningJobAsync("j1", epoch: 2);
        var before = (await Jobs.ListJobEventsAsync("j1")).Count;

        Assert.Null(await Checkpoints.CommitCheckpointAsync(Manifest("j1", 4, 1, Shard(0, "j1", 4, 1)), "{\"step\":4}"));
        Assert.Equal(before, (await Jobs.ListJobEventsAsync("j1")).Count);

        Assert.NotNull(await Checkpoints.CommitCheckpointAsync(Manifest("j1", 6, 2, Shard(0, "j1", 6, 2)), "{\"step\":6}"));
        var recorded = Assert.Single(await Jobs.ListJobEventsAsync("j1", afterSeq: before));
        Assert.Equal("checkpoint-committed", recorded.Kind);
        Assert.Contains("6", recorded.DetailJson, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(Manifest("j1", 8, 2, Shard(0, "j1", 8, 2)), "{not json"));
        Assert.Equal([6L], (await Checkpoints.ListCheckpointsAsync("j1")).Select(c => c.Step));
    }

    [Fact]
    public async Task CommitCheckpoint_AtAStepAlreadyCommitted_ReplacesItWhole()
    {
        await RunningJobAsync("j1", epoch: 1);
        await Checkpoints.CommitCheckpointAsync(Manifest("j1", 4, 1, Shard(0, "j1", 4, 1), Shard(1, "j1", 4, 1)));
        Assert.True(await Jobs.TryTransitionJobAsync(new JobTransition("j1", JobPhase.Running, 1, JobPhase.Running, 2)));

        await Checkpoints.CommitCheckpointAsync(Manifest("j1", 4, 2, Shard(0, "j1", 4, 2)));

        var only = Assert.Single(await Checkpoints.ListCheckpointsAsync("j1"));
        Assert.Equal(2, only.Epoch);
        Assert.Equal("j1/00000004/rank-0-e2.ota", Assert.Single(only.Shards).Path);
    }

    [Fact]
    public async Task CommitCheckpoint_InvalidManifest_IsRefusedNamingTheProblem_AndWritesNothing()
    {
        await RunningJobAsync("j1", epoch: 1);
        var good = Manifest("j1", 4, 1, Shard(0, "j1", 4, 1));

        var badHash = await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(
            good with { Shards = [good.Shards[0] with { Sha256 = "xyz" }] }));
        Assert.Contains("SHA-256", badHash.Message, StringComparison.Ordinal);
        var escape = await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(
            good with { Shards = [good.Shards[0] with { Path = "../elsewhere/rank-0.ota" }] }));
        Assert.Contains("relative path", escape.Message, StringComparison.Ordinal);
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(
            good with { Shards = [good.Shards[0], good.Shards[0]], Bytes = 2 * good.Bytes }));
        Assert.Contains("twice", twice.Message, StringComparison.Ordinal);
        var size = await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(good with { Bytes = 1 }));
        Assert.Equal("manifest.Bytes", size.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(good with { StateJson = "{not json" }));

        Assert.Empty(await Checkpoints.ListCheckpointsAsync("j1"));
    }

    [Fact]
    public async Task CheckpointCalls_OnAnUnknownJob_SayTheJobDoesNotExist()
    {
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Checkpoints.ListCheckpointsAsync("nope"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Checkpoints.GetCheckpointAsync("nope"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Checkpoints.CommitCheckpointAsync(Manifest("nope", 4, 1, Shard(0, "nope", 4, 1))));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Checkpoints.DeleteCheckpointsAsync("nope", [4]));
    }

    [Fact]
    public async Task DeleteCheckpoints_RemovesThoseStepsAndTheirShards_Only()
    {
        await RunningJobAsync("j1", epoch: 1);
        foreach (var step in new long[] { 2, 4, 6 })
        {
            await Checkpoints.CommitCheckpointAsync(Manifest("j1", step, 1, Shard(0, "j1", step, 1), Shard(1, "j1", step, 1)));
        }

        Assert.Equal(2, await Checkpoints.DeleteCheckpointsAsync("j1", [2, 6, 8]));

        var left = Assert.Single(await Checkpoints.ListCheckpointsAsync("j1"));
        Assert.Equal(4, left.Step);
        Assert.Equal(2, left.Shards.Count);
        // Re-committing a deleted step finds no stale shard rows in its way.
        await Checkpoints.CommitCheckpointAsync(Manifest("j1", 2, 1, Shard(0, "j1", 2, 1)));
        Assert.Single((await Checkpoints.GetCheckpointAsync("j1", 2))!.Shards);
    }

    private async Task RunningJobAsync(string id, long epoch)
    {
        Assert.NotNull(await Jobs.TryCreateJobAsync(id, "{}"));
        Assert.True(await Jobs.TryTransitionJobAsync(new JobTransition(id, JobPhase.Submitted, 0, JobPhase.Running, epoch)));
    }

    private static CheckpointShard Shard(int rank, string job, long step, long epoch) =>
        new(rank, $"{job}/{step:D8}/rank-{rank}-e{epoch}.ota", 10, rank % 2 == 0 ? HashA : HashB, [$"model/x.{rank}"]);

    private static CheckpointManifest Manifest(string job, long step, long epoch, params CheckpointShard[] shards) =>
        new(job, step, epoch, default, shards.Sum(s => s.Bytes), 1.5, $$"""{"step": {{step}}}""", shards);
}
