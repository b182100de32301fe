using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Storage;

/// <summary>
/// The checks every store runs before it touches the database, so that bad input fails the same way
/// on PostgreSQL and SQLite and never half-writes.
/// </summary>
internal static partial class StoreInput
{
    /// <summary>Longest free-text field (host names, event kinds, error messages are cut by the caller).</summary>
    public const int MaxTextLength = 4096;

    /// <summary>Names and ids go into grain keys (<c>job/epoch/rank</c>) and checkpoint paths
    /// (<c>root/job/step</c>), so they are restricted to characters that are safe in both.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();

    public static void RequireIdentifier(string? value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (!Identifier().IsMatch(value))
        {
            throw new ArgumentException(
                $"'{Shorten(value)}' is not a valid identifier: 1 to 128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
                paramName);
        }
    }

    public static void RequireText(string? value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("must not be empty", paramName);
        }

        RequireShortText(value, paramName);
    }

    public static void RequireShortText(string? value, string paramName)
    {
        if (value is not null && value.Length > MaxTextLength)
        {
            throw new ArgumentException($"is {value.Length} characters long; at most {MaxTextLength} are kept", paramName);
        }

        if (value is not null && value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("contains a NUL character, which PostgreSQL text cannot hold", paramName);
        }
    }

    public static void RequireJson(string? value, string paramName, bool allowNull)
    {
        if (value is null)
        {
            if (allowNull)
            {
                return;
            }

            throw new ArgumentNullException(paramName);
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("contains a NUL character, which PostgreSQL cannot hold", paramName);
        }

        try
        {
            using var document = JsonDocument.Parse(value);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"is not valid JSON: {e.Message}", paramName, e);
        }
    }

    public static void RequireDefined<TEnum>(TEnum value, string paramName)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"is not a {typeof(TEnum).Name}");
        }
    }

    public static void RequireNode(NodeRegistration? node)
    {
        ArgumentNullException.ThrowIfNull(node);
        RequireIdentifier(node.Name, "node.Name");
        RequireText(node.Host, "node.Host");
        ArgumentNullException.ThrowIfNull(node.Devices, "node.Devices");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var device in node.Devices)
        {
            if (device is null)
            {
                throw new ArgumentException("contains a null device", "node.Devices");
            }

            RequireDefined(device.Kind, "node.Devices");
            if (device.Index < 0)
            {
                throw new ArgumentException($"device index {device.Index} is negative", "node.Devices");
            }

            if (!seen.Add(device.Id))
            {
                throw new ArgumentException($"device '{device.Id}' is listed twice", "node.Devices");
            }
        }
    }

    public static void RequireTransition(JobTransition? transition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        RequireIdentifier(transition.JobId, "transition.JobId");
        RequireDefined(transition.ExpectedState, "transition.ExpectedState");
        RequireDefined(transition.NewState, "transition.NewState");
        if (transition.ExpectedEpoch < 0)
        {
            throw new ArgumentException($"epoch {transition.ExpectedEpoch} is negative", "transition.ExpectedEpoch");
        }

        if (transition.NewEpoch < transition.ExpectedEpoch)
        {
            throw new ArgumentException(
                $"epoch would go back from {transition.ExpectedEpoch} to {transition.NewEpoch}; epochs only grow",
                "transition.NewEpoch");
        }

        RequireShortText(transition.Error, "transition.Error");
    }

    public static void RequireMetrics(IReadOnlyList<MetricSample>? samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var seen = new HashSet<(string, long)>();
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i] ?? throw new ArgumentException($"sample {i} is null", nameof(samples));
            if (sample.Step < 0)
            {
                throw new ArgumentException($"sample {i} has negative step {sample.Step}", nameof(samples));
            }

            if (sample.Name is null || !Identifier().IsMatch(sample.Name))
            {
                throw new ArgumentException(
                    $"sample {i} has metric name '{Shorten(sample.Name)}'; names are 1 to 128 letters, digits, '.', '_' or '-'",
                    nameof(samples));
            }

            if (!seen.Add((sample.Name, sample.Step)))
            {
                throw new ArgumentException(
                    $"sample {i} repeats metric '{sample.Name}' at step {sample.Step}", nameof(samples));
            }
        }
    }

    public static void RequireExpertLoads(IReadOnlyList<ExpertLoadSample>? samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var seen = new HashSet<(long, int)>();
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i] ?? throw new ArgumentException($"sample {i} is null", nameof(samples));
            if (sample.Step < 0) throw new ArgumentException($"sample {i} has negative step {sample.Step}", nameof(samples));
            if (sample.Layer < 0) throw new ArgumentException($"sample {i} has negative layer {sample.Layer}", nameof(samples));
            if (sample.Loads is null || sample.Biases is null) throw new ArgumentException($"sample {i} has no loads or biases array", nameof(samples));
            if (sample.Loads.Any(l => l < 0)) throw new ArgumentException($"sample {i} has a negative load", nameof(samples));
            if (!seen.Add((sample.Step, sample.Layer)))
                throw new ArgumentException($"sample {i} repeats layer {sample.Layer} at step {sample.Step}", nameof(samples));
        }
    }

    public static void RequireQuery(MetricQuery? query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Name is not null)
        {
            RequireIdentifier(query.Name, "query.Name");
        }

        if (query.FromStep is { } from && query.ToStep is { } to && from > to)
        {
            throw new ArgumentException($"FromStep {from} is after ToStep {to}", nameof(query));
        }
    }

    private static string Shorten(string? value) =>
        value is null ? "(null)" : value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "…");
}
