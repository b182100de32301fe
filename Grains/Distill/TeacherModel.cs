using System.Text.Json;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Grains.Distill;

/// <summary>
/// A committed checkpoint's model, whole, for inference on one rank (a distill job's teacher): its config read from the
/// checkpoint's state, every model tensor gathered from the shard holding it (verified against the index's SHA-256, as
/// <see cref="ShardLoader"/> does), no optimizer state.
/// </summary>
public static class TeacherModel
{
    /// <summary>The run config the checkpoint was written with.</summary>
    /// <exception cref="InvalidDataException">The checkpoint's state records no config.</exception>
    public static RunConfig Config(CheckpointManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var state = JsonSerializer.Deserialize<TrainerState>(manifest.StateJson);
        if (state is null || state.Config.Length == 0)
            throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step} records no config in its state");
        return ConfigLoader.Parse(state.Config, $"checkpoint {manifest.JobId}@{manifest.Step}");
    }

    /// <summary>Builds the checkpoint's model on <paramref name="device"/> and loads its weights and buffers (eval mode).</summary>
    /// <exception cref="InvalidDataException">A shard is missing or corrupt, or lacks a tensor of the model.</exception>
    public static DeepSeekModel Load(CheckpointManifest manifest, string root, Device device)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var config = Config(manifest);
        var owner = new Dictionary<string, CheckpointShard>(StringComparer.Ordinal);
        foreach (var shard in manifest.Shards.OrderBy(s => s.Rank))
            foreach (var name in shard.Tensors) owner.TryAdd(name, shard);
        var model = new DeepSeekModel(config.Model!, config.Training?.Seed ?? 0, device: device);
        try
        {
            var wanted = TrainerShards.ModuleTensors(model).ToDictionary(t => TrainerShards.ModelPrefix + t.Name, t => t.Tensor, StringComparer.Ordinal);
            var missing = wanted.Keys.FirstOrDefault(n => !owner.ContainsKey(n));
            if (missing is not null) throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step} has no tensor '{missing}' of its model");
            using var noGrad = no_grad();
            foreach (var shard in wanted.Keys.Select(n => owner[n]).Distinct())
            {
                if (ShardFile.Problem(root, shard) is { } problem) throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step}: {problem}");
                foreach (var (name, tensor) in TensorArchive.Read(ShardPaths.Absolute(root, shard.Path)))
                {
                    using (tensor)
                    {
                        if (!wanted.TryGetValue(name, out var target) || owner[name] != shard) continue;
                        if (!tensor.shape.SequenceEqual(target.shape) || tensor.dtype != target.dtype)
                            throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step}: tensor '{name}' is {tensor.dtype}[{string.Join(", ", tensor.shape)}], the model's is {target.dtype}[{string.Join(", ", target.shape)}]");
                        target.copy_(tensor);
                    }
                }
            }
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
