using Orchestrator.Grains.Storage;

namespace Orchestrator.Grains.Tests.Storage;

/// <summary>The checkpoint index records a checkpoint's lineage: the writing job's kind and the checkpoint it started from.</summary>
public abstract partial class MetadataStoreContract
{
    [Fact]
    public async Task CommitCheckpoint_KeepsKindAndParent_AndDefaultsToPretrainWithoutParent()
    {
        await RunningJobAsync("pre", epoch: 1);
        await RunningJobAsync("ft", epoch: 1);
        await Checkpoints.CommitCheckpointAsync(Manifest("pre", 4, 1, Shard(0, "pre", 4, 1)));
        await Checkpoints.CommitCheckpointAsync(Manifest("ft", 2, 1, Shard(0, "ft", 2, 1)) with { Kind = "sft", Parent = new CheckpointSource("pre", 4) });

        var pretrained = (await Checkpoints.GetCheckpointAsync("pre", 4))!;
        Assert.Equal(("pretrain", (CheckpointSource?)null), (pretrained.Kind, pretrained.Parent));
        var tuned = Assert.Single(await Checkpoints.ListCheckpointsAsync("ft"));
        Assert.Equal(("sft", new CheckpointSource("pre", 4)), (tuned.Kind, tuned.Parent));
    }

    [Fact]
    public async Task CommitCheckpoint_WithAnUnknownKindOrABadParent_IsRefusedNamingItAndWritesNothing()
    {
        await RunningJobAsync("ft", epoch: 1);
        var manifest = Manifest("ft", 2, 1, Shard(0, "ft", 2, 1));
        var kind = await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(manifest with { Kind = "rlhf" }));
        Assert.Equal("manifest.Kind", kind.ParamName);
        var parent = await Assert.ThrowsAsync<ArgumentException>(() => Checkpoints.CommitCheckpointAsync(manifest with { Parent = new CheckpointSource("pre", 0) }));
        Assert.Equal("manifest.Parent", parent.ParamName);
        Assert.Empty(await Checkpoints.ListCheckpointsAsync("ft"));
    }
}
