namespace Orchestrator.Dashboard.Tests.Support;

/// <summary>
/// Where tests leave screenshots: <c>$DASHBOARD_TEST_ARTIFACTS</c> if set, else <c>artifacts/</c> next
/// to the test assembly (bin/Debug/net10.0/artifacts).
/// </summary>
public static class Artifacts
{
    /// <summary>The folder (created).</summary>
    public static string Folder
    {
        get
        {
            var folder = Environment.GetEnvironmentVariable("DASHBOARD_TEST_ARTIFACTS") is { Length: > 0 } set
                ? set
                : Path.Combine(AppContext.BaseDirectory, "artifacts");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    /// <summary>The path of an artifact file.</summary>
    public static string File(string name) => Path.Combine(Folder, name);
}
