using System.Globalization;

namespace Orchestrator.Grains;

/// <summary>
/// The key of a rank grain, <c>job/epoch/rank@node</c>: the placement director reads the node from
/// it, and the grain reads the epoch it is fenced to.
/// </summary>
/// <param name="JobId">The job.</param>
/// <param name="Epoch">The epoch of the plan.</param>
/// <param name="Rank">The global rank.</param>
/// <param name="Node">The node (silo name) the rank is pinned to.</param>
public sealed record RankKey(string JobId, long Epoch, int Rank, string Node)
{
    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{JobId}/{Epoch}/{Rank}@{Node}");

    /// <summary>Reads a key written by <see cref="ToString"/>.</summary>
    /// <exception cref="FormatException">The text is not a rank key.</exception>
    public static RankKey Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var at = key.LastIndexOf('@');
        var parts = at > 0 ? key[..at].Split('/') : [];
        if (parts.Length == 3
            && parts[0].Length > 0
            && at < key.Length - 1
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
        {
            return new RankKey(parts[0], epoch, rank, key[(at + 1)..]);
        }

        throw new FormatException($"'{key}' is not a rank key (job/epoch/rank@node)");
    }
}
