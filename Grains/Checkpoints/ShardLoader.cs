using System.Text.Json;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Loads a committed checkpoint into a rank's trainer: finds, through the manifest, the shard that holds
/// each tensor the trainer has (the dense share in rank 0's, experts in their owner's), verifies every
/// shard it reads against its SHA-256 in the index, and restores tensors, moments and counters.
/// </summary>
public static class ShardLoader
{
    /// <summary>Restores <paramref name="trainer"/> from <paramref name="manifest"/>, whose shards lie under <paramref name="root"/>.</summary>
    /// <exception cref="InvalidDataException">A shard is missing or corrupt, or the checkpoint does not fit the trainer.</exception>
    public static void Restore(IShardedTrainer trainer, CheckpointManifest manifest, string root) =>
        Load(trainer, manifest, root, weightsOnly: false);

    /// <summary>
    /// Starts <paramref name="trainer"/> from <paramref name="manifest"/>'s weights only (an sft job's parent checkpoint):
    /// parameters and buffers, verified as <see cref="Restore"/> does; no moments, no counters (step 0).
    /// </summary>
    /// <exception cref="InvalidDataException">A shard is missing or corrupt, or the checkpoint's model is not the trainer's.</exception>
    public static void Initialize(IShardedTrainer trainer, CheckpointManifest manifest, string root) =>
        Load(trainer, manifest, root, weightsOnly: true);

    /// <summary>
    /// Loads <paramref name="manifest"/>'s weights into <paramref name="model"/> alone (a grpo job's frozen reference: no
    /// optimizer, no counters), the tensors this rank's model holds, verified as <see cref="Restore"/> does.
    /// </summary>
    /// <exception cref="InvalidDataException">A shard is missing or corrupt, or the checkpoint's model is not <paramref name="model"/>'s.</exception>
    public static void LoadWeights(DeepSeekModel model, CheckpointManifest manifest, string root)
    {
        ArgumentNullException.ThrowIfNull(model);
        var targets = TrainerShards.ModuleTensors(model);
        Load(targets.Select(t => TrainerShards.ModelPrefix + t.Name).ToList(), manifest, root,
            (state, tensors) => TrainerShards.Initialize(model.Config, targets, state, tensors));
    }

    private static void Load(IShardedTrainer trainer, CheckpointManifest manifest, string root, bool weightsOnly)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var names = weightsOnly ? TrainerShards.ModelTensors(trainer).Select(t => TrainerShards.ModelPrefix + t.Name).ToList() : TrainerShards.Names(trainer);
        Load(names, manifest, root, (state, tensors) =>
        {
            if (weightsOnly) TrainerShards.Initialize(trainer, state, tensors);
            else TrainerShards.Restore(trainer, state, tensors);
        });
    }

    private static void Load(IReadOnlyList<string> names, CheckpointManifest manifest, string root, Action<TrainerState, Dictionary<string, Tensor>> apply)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var owner = new Dictionary<string, CheckpointShard>(StringComparer.Ordinal);
        foreach (var shard in manifest.Shards.OrderBy(s => s.Rank))
        {
            foreach (var name in shard.Tensors) owner.TryAdd(name, shard);
        }

        // A copy the checkpoint's layout did not have (the MTP stage's embedding, written by a layout without pipeline
        // stages) is read from its original; TrainerShards.Restore makes the same substitution.
        var needed = names.Select(n => owner.ContainsKey(n) ? n : Original(n)).Distinct(StringComparer.Ordinal).ToList();
        var missing = needed.Where(n => !owner.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step} has no shard holding {missing.Count} tensor(s) this rank needs, e.g. '{missing[0]}'");

        var state = JsonSerializer.Deserialize<TrainerState>(manifest.StateJson)
            ?? throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step} has an empty state");
        var wanted = needed.ToHashSet(StringComparer.Ordinal);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in needed.Select(n => owner[n]).Distinct())
            {
                if (ShardFile.Problem(root, shard) is { } problem)
                    throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step}: {problem}");
                foreach (var (name, tensor) in TensorArchive.Read(ShardPaths.Absolute(root, shard.Path)))
                {
                    if (wanted.Contains(name) && owner[name] == shard) tensors[name] = tensor;
                    else tensor.Dispose();
                }
            }

            apply(state, tensors);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    private static string Original(string name)
    {
        var at = name.IndexOf(TrainerShards.CopySuffix, StringComparison.Ordinal);
        return at > 0 ? name.Remove(at, TrainerShards.CopySuffix.Length) : name;
    }
}
