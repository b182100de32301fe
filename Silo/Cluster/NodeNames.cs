using System.Globalization;

namespace Orchestrator.Silo.Cluster;

/// <summary>
/// The node names of a process that hosts several nodes (<c>silo --nodes K</c>, for control-plane scale runs
/// with simulated devices): one Orleans silo per node, each with its own name, ports and membership row, as
/// separate machines would have. <c>--node n9 --nodes 8</c> is n9 … n16.
/// </summary>
public static class NodeNames
{
    /// <summary>The <paramref name="count"/> names that begin at <paramref name="first"/>.</summary>
    /// <exception cref="ArgumentException">More than one node and <paramref name="first"/> does not end in a number.</exception>
    public static IReadOnlyList<string> From(string first, int count)
    {
        ArgumentNullException.ThrowIfNull(first);
        if (count is < 1 or > 256) throw new ArgumentException($"--nodes: {count} is not from 1 to 256");
        if (count == 1) return [first];
        var digits = first.Length - first.Reverse().TakeWhile(char.IsAsciiDigit).Count();
        if (digits == first.Length || !int.TryParse(first.AsSpan(digits), NumberStyles.None, CultureInfo.InvariantCulture, out var start))
            throw new ArgumentException($"--nodes {count}: --node must end in a number that the other names count up from (e.g. n1; got '{first}')");
        var prefix = first[..digits];
        return [.. Enumerable.Range(start, count).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture))];
    }
}
