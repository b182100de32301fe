using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Silo.Cli;

/// <summary>Configs compiled into the executable, so that <c>demo</c> needs no files.</summary>
public static class EmbeddedConfigs
{
    /// <summary>deploy/configs/tiny.json as it was at build time.</summary>
    public static RunConfig Tiny() => ConfigLoader.Parse(TinyJson(), "embedded tiny.json");

    /// <summary>The text of deploy/configs/tiny.json as it was at build time.</summary>
    public static string TinyJson()
    {
        using var stream = typeof(EmbeddedConfigs).Assembly.GetManifestResourceStream("configs/tiny.json")
            ?? throw new InvalidOperationException("the tiny config is not embedded in this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
