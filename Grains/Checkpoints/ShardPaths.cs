using System.Globalization;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Where shard files go under a storage root shared by the nodes: <c>root/job/SSSSSSSS/rank-R-eE.ota</c>.
/// The epoch is in the name so that a step replayed after a recovery (or written by a zombie rank of an
/// old epoch) never overwrites the files of a committed checkpoint at the same step.
/// </summary>
public static class ShardPaths
{
    /// <summary>Suffix of a file being written; it is renamed to its final name when complete.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>The step folder's name: the step, zero-padded so that folders sort by step.</summary>
    public static string StepFolder(long step) => step.ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>The shard's path relative to the root, '/'-separated, as the index records it.</summary>
    public static string Relative(string jobId, long step, long epoch, int rank) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/{StepFolder(step)}/rank-{rank}-e{epoch}.ota");

    /// <summary>The absolute path of a relative shard path under <paramref name="root"/>.</summary>
    public static string Absolute(string root, string relative) =>
        Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The job's folder under <paramref name="root"/>.</summary>
    public static string JobFolder(string root, string jobId) => Path.Combine(root, jobId);

    /// <summary>The step of a step folder's name, or null if the name is not one.</summary>
    public static long? StepOf(string folderName) =>
        folderName.Length == 8 && long.TryParse(folderName, NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : null;
}
