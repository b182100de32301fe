using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Benchmarks.Training;

/// <summary>Where the benchmark finds its config and writes its results: the repository root, found from the working directory.</summary>
internal static class BenchWorkspace
{
    /// <summary>The folder holding Orchestrator.sln; falls back to the working directory so a copied binary still runs.</summary>
    public static string Root { get; } = FindRoot();

    public static string ResultsDirectory => Path.Combine(Root, "bench", "results");

    public static string TinyConfigPath => Path.Combine(Root, "deploy", "configs", "tiny.json");

    /// <summary>Loads the model and training sections; a config without a training section gets the defaults.</summary>
    public static (ModelConfig Model, TrainingConfig Training) LoadConfig(string path)
    {
        var run = ConfigLoader.LoadFile(path);
        return (run.Model!, run.Training ?? new TrainingConfig());
    }

    /// <summary>Writes <paramref name="json"/> to bench/results/<paramref name="stem"/>-YYYY-MM-DD.json and returns the path.</summary>
    public static string WriteResult(string stem, DateTime utc, string json)
    {
        Directory.CreateDirectory(ResultsDirectory);
        var path = Path.Combine(ResultsDirectory, $"{stem}-{utc:yyyy-MM-dd}.json");
        File.WriteAllText(path, json + "\n");
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) return dir.FullName;
        }
        return Environment.CurrentDirectory;
    }
}
