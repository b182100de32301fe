using System.Globalization;
using System.Text;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>One sample of a Prometheus text exposition: the series name, its labels and its value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>The label's value, or null.</summary>
    public string? Label(string name) => Labels.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A parser of the Prometheus text exposition format (version 0.0.4): comment lines (<c># HELP</c>, <c># TYPE</c>)
/// skipped, each other line <c>name{label="value",…} value [timestamp]</c>, label values with the format's escapes
/// (<c>\\</c>, <c>\"</c>, <c>\n</c>). A line it cannot read fails the parse, naming the line.
/// </summary>
public static class PrometheusText
{
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            samples.Add(ParseLine(line) ?? throw new FormatException($"exposition line {number} is not a sample: {line}"));
        }
        return samples;
    }

    private static PrometheusSample? ParseLine(string line)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':')) i++;
        if (i == 0) return null;
        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                var start = i;
                while (i < line.Length && line[i] != '=') i++;
                var label = line[start..i].Trim();
                if (i + 1 >= line.Length || line[i + 1] != '"') return null;
                i += 2;
                var value = new StringBuilder();
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] switch { 'n' => '\n', var c => c });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                    i++;
                }
                if (i >= line.Length) return null;
                i++; // the closing quote
                labels[label] = value.ToString();
                if (i < line.Length && line[i] == ',') i++;
            }
            if (i >= line.Length) return null;
            i++; // the closing brace
        }

        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2) return null;
        var parsed = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => (double?)null,
        };
        return parsed is { } number ? new PrometheusSample(name, labels, number) : null;
    }
}
