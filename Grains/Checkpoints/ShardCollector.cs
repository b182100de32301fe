namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Garbage collection of a job's shard files: in every step folder up to a committed step, whatever the
/// index does not reference (expired checkpoints, the shards of aborted or interrupted ones, files of
/// older epochs, temporary files) is deleted. Folders of later steps hold writes in flight and are left.
/// </summary>
public static class ShardCollector
{
    /// <summary>Deletes unreferenced files under <c>root/job</c> in step folders up to <paramref name="upToStep"/>.</summary>
    /// <param name="root">The storage root.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="referenced">Relative paths (as in the index) of the shards of the job's committed checkpoints.</param>
    /// <param name="upToStep">The newest committed step: later folders are left alone.</param>
    /// <returns>The relative paths deleted.</returns>
    public static IReadOnlyList<string> Collect(string root, string jobId, IReadOnlySet<string> referenced, long upToStep)
    {
        ArgumentNullException.ThrowIfNull(referenced);
        var jobFolder = ShardPaths.JobFolder(root, jobId);
        var deleted = new List<string>();
        if (!Directory.Exists(jobFolder)) return deleted;
        foreach (var folder in Directory.EnumerateDirectories(jobFolder))
        {
            var name = Path.GetFileName(folder);
            if (ShardPaths.StepOf(name) is not { } step || step > upToStep) continue;
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                var relative = $"{jobId}/{name}/{Path.GetFileName(file)}";
                if (referenced.Contains(relative)) continue;
                if (TryDelete(() => File.Delete(file))) deleted.Add(relative);
            }

            if (!Directory.EnumerateFileSystemEntries(folder).Any()) TryDelete(() => Directory.Delete(folder));
        }

        return deleted;
    }

    private static bool TryDelete(Action delete)
    {
        try
        {
            delete();
            return true;
        }
        catch (IOException)
        {
            return false; // raced with a writer or another collector: the next collection tries again
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
