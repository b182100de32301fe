using System.Runtime.InteropServices;
using Orchestrator.Kernels.Training;
using TorchSharp;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// A simulated rank's checkpoint shard: a real archive file, written, fsynced and hashed as a real shard is,
/// holding the expert biases (all that a simulated rank resumes from) and a payload of the spec's size.
/// </summary>
public static class SimulatedShards
{
    /// <summary>The tensor holding the biases, [MoE layers, experts], float32.</summary>
    public const string BiasTensor = "sim/bias";

    /// <summary>The payload standing in for the rank's parameters and optimizer state.</summary>
    public const string PayloadTensor = "sim/payload";

    /// <summary>Writes rank <paramref name="rank"/>'s shard of <paramref name="jobId"/> at <paramref name="step"/>.</summary>
    public static CheckpointShard Write(string root, string jobId, long step, long epoch, int rank, float[][] biases, int kilobytes)
    {
        ArgumentNullException.ThrowIfNull(biases);
        var experts = biases.Length == 0 ? 0 : biases[0].Length;
        var flat = biases.SelectMany(b => b).ToArray();
        var entries = new List<ArchiveEntry>
        {
            new(BiasTensor, torch.ScalarType.Float32, [biases.Length, experts], MemoryMarshal.AsBytes(flat.AsSpan()).ToArray()),
            new(PayloadTensor, torch.ScalarType.Byte, [kilobytes * 1024L], new byte[kilobytes * 1024L]),
        };
        return ShardFile.Write(root, jobId, step, epoch, rank, entries);
    }

    /// <summary>The biases of a simulated job's checkpoint, from this rank's shard (or the first one), verified first.</summary>
    /// <exception cref="InvalidDataException">The shard is damaged, or the checkpoint was not written by a simulated job.</exception>
    public static float[][] ReadBiases(CheckpointManifest manifest, string root, int rank)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var shard = manifest.Shards.FirstOrDefault(s => s.Rank == rank) ?? manifest.Shards.OrderBy(s => s.Rank).FirstOrDefault()
            ?? throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step} has no shards");
        if (!shard.Tensors.Contains(BiasTensor))
            throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step} was not written by a simulated job (its shard has no '{BiasTensor}')");
        if (ShardFile.Problem(root, shard) is { } problem) throw new InvalidDataException($"checkpoint {manifest.JobId}@{manifest.Step}: {problem}");
        var tensors = TensorArchive.Read(ShardPaths.Absolute(root, shard.Path));
        try
        {
            var bias = tensors[BiasTensor];
            var (layers, experts) = ((int)bias.shape[0], (int)bias.shape[1]);
            var flat = bias.data<float>().ToArray();
            return [.. Enumerable.Range(0, layers).Select(l => flat.AsSpan(l * experts, experts).ToArray())];
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }
}
