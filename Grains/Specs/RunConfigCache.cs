using System.Collections.Concurrent;
using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The typed model and training config of a <see cref="RunSpec"/>, parsed once per process and config. A spec
/// crosses silos as its canonical JSON (Kernels' records carry no Orleans attributes); every rank, job grain
/// and planner of this process that asks for the same text gets the same <see cref="RunConfig"/> instance,
/// which is immutable all the way down (init-only records of scalars and strings), so sharing it is safe.
/// </summary>
public static class RunConfigCache
{
    // A silo sees few distinct configs (one per job at most); the bound only keeps a very long-lived
    // process from holding every config it ever saw. Dropping all is fine: an entry is cheap to parse again.
    private const int MaxEntries = 256;

    private static readonly ConcurrentDictionary<string, RunConfig> Configs = new(StringComparer.Ordinal);

    /// <summary>The typed config of <paramref name="run"/>; parsed on the first call for its text only.</summary>
    /// <exception cref="JobSpecException">The text is not a valid config (only for a spec built by hand, not by the parser).</exception>
    public static RunConfig Config(this RunSpec run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (Configs.TryGetValue(run.Json, out var known)) return known;
        RunConfig parsed;
        try
        {
            parsed = ConfigLoader.Parse(run.Json, "job spec");
        }
        catch (ConfigException e)
        {
            throw new JobSpecException(string.Join("; ", e.Problems));
        }

        if (Configs.Count >= MaxEntries) Configs.Clear();
        return Configs.GetOrAdd(run.Json, parsed);
    }

    /// <summary>The model section of <paramref name="run"/> (always present: the parser requires it).</summary>
    public static ModelConfig Model(this RunSpec run) => run.Config().Model!;
}
