using System.Collections.Concurrent;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Tests.Checkpoints;

/// <summary>
/// Sharded checkpoints of expert-parallel ranks in one process: written asynchronously with a SHA-256 per
/// file, the dense share once, and a resume from them that continues bit for bit.
/// </summary>
public sealed class ShardedCheckpointTests : IDisposable
{
    private const int World = 2;
    private const long CheckpointStep = 3;
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-shards-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void ResumeFromShardedCheckpoint_ContinuesBitIdentically()
    {
        var data = EpRanks.Data(_root);
        var straight = EpRanks.Run(data, World, EpRanks.Steps);

        var manifest = WriteCheckpoint(data, CheckpointStep);
        var resumed = EpRanks.Run(data, World, EpRanks.Steps, prepare: (_, trainer) => ShardLoader.Restore(trainer, manifest, Storage));

        for (var rank = 0; rank < World; rank++)
        {
            Assert.Equal(EpRanks.Steps - CheckpointStep, resumed[rank].Count);
            foreach (var (step, loss) in resumed[rank])
            {
                // Bit for bit: the same double, not merely close.
                Assert.Equal(BitConverter.DoubleToInt64Bits(straight[rank][step]), BitConverter.DoubleToInt64Bits(loss));
            }
        }
    }

    [Fact]
    public void ShardFiles_HoldTheDenseShareOnce_AndEachRanksOwnExperts()
    {
        var manifest = WriteCheckpoint(EpRanks.Data(_root), CheckpointStep);

        var rank0 = manifest.Shards[0].Tensors;
        var rank1 = manifest.Shards[1].Tensors;
        Assert.Contains(rank0, n => !TrainerShards.IsRoutedExpert(n));
        Assert.Contains(rank0, TrainerShards.IsRoutedExpert);
        Assert.NotEmpty(rank1);
        Assert.All(rank1, n => Assert.True(TrainerShards.IsRoutedExpert(n), $"rank 1 wrote the dense tensor '{n}'"));
        Assert.Contains(rank0, n => n.StartsWith("model/", StringComparison.Ordinal) && n.EndsWith("expert_bias", StringComparison.Ordinal));
        Assert.Contains(rank1, n => n.StartsWith("adam/", StringComparison.Ordinal));
        Assert.Empty(rank0.Intersect(rank1));
        foreach (var shard in manifest.Shards)
        {
            var file = new FileInfo(ShardPaths.Absolute(Storage, shard.Path));
            Assert.Equal(shard.Bytes, file.Length);
            Assert.Null(ShardFile.Problem(Storage, shard));
            Assert.Equal($"ep/{ShardPaths.StepFolder(CheckpointStep)}/rank-{shard.Rank}-e1.ota", shard.Path);
        }

        Assert.Empty(Directory.EnumerateFiles(Storage, "*" + ShardPaths.TempSuffix, SearchOption.AllDirectories));
    }

    [Fact]
    public void FlippedByte_IsDetected_AndTheLoadRefusesNamingTheShard()
    {
        var data = EpRanks.Data(_root);
        var manifest = WriteCheckpoint(data, CheckpointStep);
        var victim = manifest.Shards[1];
        var path = ShardPaths.Absolute(Storage, victim.Path);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        Assert.Contains("SHA-256", ShardFile.Problem(Storage, victim), StringComparison.Ordinal);
        Assert.Null(ShardFile.Problem(Storage, manifest.Shards[0]));
        var error = Assert.Throws<AggregateException>(() =>
            EpRanks.Run(data, World, CheckpointStep + 1, prepare: (_, trainer) => ShardLoader.Restore(trainer, manifest, Storage)));
        Assert.Contains(error.Flatten().InnerExceptions, e => e is InvalidDataException && e.Message.Contains(victim.Path, StringComparison.Ordinal));
    }

    private string Storage => Path.Combine(_root, "storage");

    /// <summary>Trains to <paramref name="step"/>, checkpoints every rank asynchronously, and assembles the manifest as the coordinator does.</summary>
    private CheckpointManifest WriteCheckpoint(string data, long step)
    {
        var prepared = new ConcurrentBag<PreparedShard>();
        var aborted = new ConcurrentBag<string>();
        var writers = Enumerable.Range(0, World)
            .Select(rank => new AsyncCheckpointer(Storage, "ep", 1, new ParallelGroups(new ParallelLayout(World, 1), rank), prepared.Add, (_, reason) => aborted.Add(reason)))
            .ToArray();
        EpRanks.Run(data, World, step, afterStep: (rank, trainer) =>
        {
            if (trainer.Step == step) writers[rank].Checkpoint(trainer);
        });
        foreach (var writer in writers) writer.Flush();

        Assert.Empty(aborted);
        var shards = prepared.OrderBy(p => p.Shard.Rank).ToList();
        Assert.Equal(World, shards.Count);
        Assert.All(shards, p => Assert.Equal(step, p.Step));
        return new CheckpointManifest("ep", step, 1, DateTimeOffset.UtcNow, shards.Sum(s => s.Shard.Bytes), shards.Max(s => s.WriteSeconds),
            shards[0].StateJson, [.. shards.Select(s => s.Shard)]);
    }
}
