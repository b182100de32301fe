using Orchestrator.Silo.Cli;

namespace Orchestrator.Silo.Cluster;

/// <summary>
/// Finds a named config (<c>"config": "tiny"</c> in a job spec): <c>configs/NAME.json</c> next to the
/// spec's folder, in the spec's folder, under <c>deploy/configs</c> of the current folder, or compiled in (tiny).
/// </summary>
public static class ConfigCatalog
{
    public static Func<string, string?> Resolver(string? specDirectory) => name =>
    {
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name.Contains("..", StringComparison.Ordinal))
            return null;
        var folders = new List<string>();
        if (specDirectory is not null)
        {
            folders.Add(Path.Combine(specDirectory, "..", "configs"));
            folders.Add(Path.Combine(specDirectory, "configs"));
        }

        folders.Add(Path.Combine(Environment.CurrentDirectory, "deploy", "configs"));
        var file = folders.Select(f => Path.Combine(f, name + ".json")).FirstOrDefault(File.Exists);
        if (file is not null) return File.ReadAllText(file);
        return name == "tiny" ? EmbeddedConfigs.TinyJson() : null;
    };

    /// <summary>Names a spec may give as <c>"config"</c> from the current folder's <c>deploy/configs</c>, plus the compiled-in tiny.</summary>
    public static IReadOnlyList<string> Names()
    {
        var folder = Path.Combine(Environment.CurrentDirectory, "deploy", "configs");
        var names = Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).ToList()
            : [];
        if (!names.Contains("tiny")) names.Add("tiny");
        return names.Order(StringComparer.Ordinal).ToList();
    }
}
