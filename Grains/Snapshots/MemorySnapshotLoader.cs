using System.Text.Json;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Grains.Snapshots;

/// <summary>
/// Loads an in-memory step into a rank's trainer: finds the shard that holds each tensor the trainer has (the dense
/// share in rank 0's, experts in their owner's, as <c>ShardLoader</c> does for disk), reads each shard it needs from
/// the first holder that still has it (its own node first), and restores tensors, moments and counters. Called on the
/// device thread; the reads are grain calls to the holders.
/// </summary>
public static class MemorySnapshotLoader
{
    /// <summary>Restores <paramref name="trainer"/> from <paramref name="point"/>; <paramref name="node"/> is the rank's own node.</summary>
    /// <exception cref="SnapshotLostException">A shard is held nowhere any more.</exception>
    /// <exception cref="InvalidDataException">The state does not fit the trainer.</exception>
    public static void Restore(IShardedTrainer trainer, MemoryResumePoint point, IGrainFactory grains, string node)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(grains);
        var owner = new Dictionary<string, MemoryShard>(StringComparer.Ordinal);
        foreach (var shard in point.Shards.OrderBy(s => s.Rank))
            foreach (var name in shard.Tensors) owner.TryAdd(name, shard);
        var needed = TrainerShards.Names(trainer).Select(n => owner.ContainsKey(n) ? n : Original(n)).Distinct(StringComparer.Ordinal).ToList();
        var missing = needed.Where(n => !owner.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"the in-memory step {point.Step} of {point.JobId} has no shard holding {missing.Count} tensor(s) this rank needs, e.g. '{missing[0]}'");
        var state = JsonSerializer.Deserialize<TrainerState>(point.StateJson)
            ?? throw new InvalidDataException($"the in-memory step {point.Step} of {point.JobId} has an empty state");
        var wanted = needed.ToHashSet(StringComparer.Ordinal);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in needed.Select(n => owner[n]).Distinct())
            {
                using var bytes = Fetch(point, shard, grains, node);
                foreach (var (name, tensor) in TensorArchive.Read(bytes, $"rank {shard.Rank}'s snapshot of step {point.Step}"))
                {
                    if (wanted.Contains(name) && owner[name] == shard) tensors[name] = tensor;
                    else tensor.Dispose();
                }
            }

            TrainerShards.Restore(trainer, state, tensors);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    private static MemoryStream Fetch(MemoryResumePoint point, MemoryShard shard, IGrainFactory grains, string node)
    {
        var problems = new List<string>();
        foreach (var holder in shard.Holders.OrderBy(h => h == node ? 0 : 1))
        {
            var grain = grains.GetGrain<ISnapshotHolderGrain>(ISnapshotHolderGrain.KeyOf(point.JobId, holder));
            var stream = new MemoryStream((int)Math.Min(int.MaxValue, shard.Bytes));
            try
            {
                for (var i = 0; i < shard.Parts; i++) stream.Write(grain.Read(shard.Rank, point.Step, i).GetAwaiter().GetResult());
                if (stream.Length != shard.Bytes) throw new InvalidDataException($"{stream.Length} bytes, {shard.Bytes} expected");
                stream.Position = 0;
                return stream;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                stream.Dispose();
                problems.Add($"{holder}: {e.Message}");
            }
        }

        throw new SnapshotLostException($"rank {shard.Rank}'s snapshot of step {point.Step} could be read from none of its holders ({string.Join("; ", problems)})");
    }

    private static string Original(string name)
    {
        var at = name.IndexOf(TrainerShards.CopySuffix, StringComparison.Ordinal);
        return at > 0 ? name.Remove(at, TrainerShards.CopySuffix.Length) : name;
    }
}
