namespace Orchestrator.Benchmarks.Training;

/// <summary>What a figure was measured on; recorded beside every result because CPU figures mean nothing without it.</summary>
internal sealed record MachineInfo(string Description, int Nproc, string CpuModel, string Os, string Runtime)
{
    /// <summary>The project's benchmark VM; the description is fixed text, the rest is read from the machine.</summary>
    public static MachineInfo Current() => new(
        "2-core Debian 12 VM, no GPU",
        Environment.ProcessorCount,
        ReadCpuModel(),
        System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);

    private static string ReadCpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return "unknown";
        var line = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
    }
}
