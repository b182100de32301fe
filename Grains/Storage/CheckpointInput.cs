using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Storage;

/// <summary>The checks a checkpoint manifest passes before the store writes any of it.</summary>
internal static partial class CheckpointInput
{
    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();

    public static void RequireManifest(CheckpointManifest? manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        StoreInput.RequireIdentifier(manifest.JobId, "manifest.JobId");
        if (manifest.Step < 1) throw new ArgumentException($"step {manifest.Step} is not a checkpoint step: checkpoints are taken after step 1 or later", "manifest.Step");
        if (manifest.Epoch < 1) throw new ArgumentException($"epoch {manifest.Epoch} is not a running epoch (they start at 1)", "manifest.Epoch");
        if (manifest.Bytes < 0) throw new ArgumentException($"size {manifest.Bytes} is negative", "manifest.Bytes");
        if (!double.IsFinite(manifest.DurationSeconds) || manifest.DurationSeconds < 0)
            throw new ArgumentException($"duration {manifest.DurationSeconds} s is not a finite, non-negative number", "manifest.DurationSeconds");
        StoreInput.RequireJson(manifest.StateJson, "manifest.StateJson", allowNull: false);
        if (manifest.Kind is not ("pretrain" or "sft" or "grpo" or "distill"))
            throw new ArgumentException($"'{manifest.Kind}' is not a job kind (pretrain, sft, grpo, distill)", "manifest.Kind");
        if (manifest.Parent is { } parent)
        {
            StoreInput.RequireIdentifier(parent.JobId, "manifest.Parent");
            if (parent.Step < 1) throw new ArgumentException($"parent step {parent.Step} is not a checkpoint step", "manifest.Parent");
        }
        ArgumentNullException.ThrowIfNull(manifest.Shards, "manifest.Shards");
        if (manifest.Shards.Count == 0) throw new ArgumentException("a checkpoint has at least one shard", "manifest.Shards");
        var ranks = new HashSet<int>();
        long total = 0;
        foreach (var shard in manifest.Shards)
        {
            if (shard is null) throw new ArgumentException("contains a null shard", "manifest.Shards");
            if (shard.Rank < 0 || !ranks.Add(shard.Rank)) throw new ArgumentException($"rank {shard.Rank} is negative or listed twice", "manifest.Shards");
            RequireRelativePath(shard.Path);
            if (shard.Bytes < 0) throw new ArgumentException($"shard of rank {shard.Rank} has negative size {shard.Bytes}", "manifest.Shards");
            if (shard.Sha256 is null || !Sha256Hex().IsMatch(shard.Sha256))
                throw new ArgumentException($"shard of rank {shard.Rank} has SHA-256 '{shard.Sha256}': 64 lower-case hex digits expected", "manifest.Shards");
            if (shard.Tensors is null || shard.Tensors.Any(string.IsNullOrEmpty))
                throw new ArgumentException($"shard of rank {shard.Rank} lists a null or empty tensor name", "manifest.Shards");
            total += shard.Bytes;
        }

        if (total != manifest.Bytes)
            throw new ArgumentException($"the shards hold {total} bytes but the manifest says {manifest.Bytes}", "manifest.Bytes");
    }

    public static void RequireSteps(IReadOnlyList<long>? steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Any(s => s < 1)) throw new ArgumentException("checkpoint steps start at 1", nameof(steps));
    }

    private static void RequireRelativePath(string? path)
    {
        StoreInput.RequireText(path, "manifest.Shards");
        if (path!.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Split('/').Any(p => p is "" or "." or ".."))
            throw new ArgumentException($"shard path '{path}' is not a plain relative path under the storage root", "manifest.Shards");
    }
}
