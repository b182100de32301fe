using System.Security.Cryptography;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Writes and checks one rank's shard file: written under a temporary name with its SHA-256 computed on
/// the way to disk, fsynced, renamed, and the folder fsynced; a failed write leaves no file behind.
/// </summary>
public static class ShardFile
{
    private const int BufferSize = 1 << 20;

    private static string HashOf(IReadOnlyList<ArchiveEntry> entries)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var sink = new HashingStream(Stream.Null, sha)) TensorArchive.Write(sink, entries);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Writes the entries as rank <paramref name="rank"/>'s shard of <paramref name="jobId"/> at <paramref name="step"/>.</summary>
    /// <returns>The shard as the index records it.</returns>
    /// <exception cref="IOException">The write failed (a full disk, say); the temporary file is gone.</exception>
    public static CheckpointShard Write(string root, string jobId, long step, long epoch, int rank, IReadOnlyList<ArchiveEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var relative = ShardPaths.Relative(jobId, step, epoch, rank);
        var final = ShardPaths.Absolute(root, relative);
        var folder = Path.GetDirectoryName(final)!;
        var created = !Directory.Exists(folder);
        Directory.CreateDirectory(folder);
        var temp = final + ShardPaths.TempSuffix;
        string hash;
        long length;
        try
        {
            // The SHA-256 of the archive's bytes is computed on another thread from the same in-memory
            // entries (the archive is a deterministic serialisation), while this one writes and fsyncs:
            // hashing then costs no time next to the disk.
            var hashing = Task.Run(() => HashOf(entries));
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize))
            {
                TensorArchive.Write(file, entries);
                file.Flush(flushToDisk: true);
                length = file.Length;
            }
            hash = hashing.GetAwaiter().GetResult();

            File.Move(temp, final, overwrite: true);
            DirectorySync.Flush(folder);
            if (created) DirectorySync.Flush(Path.GetDirectoryName(folder)!);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return new CheckpointShard(rank, relative, length, hash, [.. entries.Select(e => e.Name)]);
    }

    /// <summary>What is wrong with the shard's file under <paramref name="root"/> (missing, wrong size, wrong hash), or null if it is intact.</summary>
    public static string? Problem(string root, CheckpointShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var path = ShardPaths.Absolute(root, shard.Path);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
            if (file.Length != shard.Bytes) return $"rank {shard.Rank}'s shard '{shard.Path}' has {file.Length} bytes, the index says {shard.Bytes}";
            var actual = Convert.ToHexStringLower(SHA256.HashData(file));
            return actual == shard.Sha256 ? null : $"rank {shard.Rank}'s shard '{shard.Path}' has SHA-256 {actual}, the index says {shard.Sha256}";
        }
        catch (FileNotFoundException)
        {
            return $"rank {shard.Rank}'s shard '{shard.Path}' is missing";
        }
        catch (DirectoryNotFoundException)
        {
            return $"rank {shard.Rank}'s shard '{shard.Path}' is missing (no folder)";
        }
        catch (IOException e)
        {
            return $"rank {shard.Rank}'s shard '{shard.Path}' cannot be read: {e.Message}";
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left for the collector: an uncommitted file is garbage either way.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
