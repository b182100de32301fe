using System.Globalization;

namespace Orchestrator.Benchmarks.Training;

/// <summary>The few <c>--name value</c> options the training benchmarks take.</summary>
internal sealed class BenchArgs(string[] args)
{
    public int Int(string name, int fallback) =>
        Value(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public string String(string name, string fallback) => Value(name) ?? fallback;

    /// <summary>A comma-separated list, e.g. <c>--gammas 0.001,0.01</c>.</summary>
    public string[] List(string name, string[] fallback) =>
        Value(name) is { } text ? text.Split(',', StringSplitOptions.RemoveEmptyEntries) : fallback;

    /// <summary>True when the flag <paramref name="name"/> is present.</summary>
    public bool Flag(string name) => Array.IndexOf(args, name) >= 0;

    private string? Value(string name)
    {
        var at = Array.IndexOf(args, name);
        if (at < 0) return null;
        if (at + 1 >= args.Length) throw new ArgumentException($"{name} needs a value");
        return args[at + 1];
    }
}
