using System.Globalization;

namespace Orchestrator.Silo.Cluster;

/// <summary>
/// Reads <c>--devices</c>: <c>cpu:N</c> is N CPU slots; <c>sim:N</c> is N simulated slots (for control-plane scale runs);
/// <c>cuda:0-7</c> or <c>cuda:0,2,5</c> names GPUs.
/// </summary>
public static class DeviceList
{
    public static IReadOnlyList<string> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon > 0 ? text[..colon] : "";
        var rest = colon > 0 ? text[(colon + 1)..] : "";
        if (kind is "cpu" or "sim" && int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is > 0 and <= 1024)
            return Enumerable.Range(0, count).Select(i => $"{kind}:{i}").ToList();
        if (kind == "cuda" && rest.Length > 0)
        {
            var indices = new SortedSet<int>();
            foreach (var part in rest.Split(','))
            {
                var dash = part.IndexOf('-', StringComparison.Ordinal);
                if (dash > 0 && Index(part[..dash]) is { } from && Index(part[(dash + 1)..]) is { } to && from <= to)
                    indices.UnionWith(Enumerable.Range(from, to - from + 1));
                else if (Index(part) is { } single)
                    indices.Add(single);
                else
                    throw new ArgumentException($"--devices: '{text}' is not cpu:N, sim:N or cuda:0-7 / cuda:0,2 ('{part}' is not an index or range)");
            }

            return indices.Select(i => $"cuda:{i}").ToList();
        }

        throw new ArgumentException($"--devices: '{text}' is not cpu:N or sim:N (N from 1 to 1024) or cuda:0-7 / cuda:0,2");
    }

    private static int? Index(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < 1024 ? i : null;
}
