namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>An SFT data file that cannot be used: the reason, and the 1-based line at fault (0 for the file as a whole).</summary>
public sealed class SftDataException(string path, int line, string reason)
    : Exception(line > 0 ? $"{path}: line {line}: {reason}" : $"{path}: {reason}")
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>The 1-based line at fault; 0 when the file as a whole is (missing, empty).</summary>
    public int Line { get; } = line;

    /// <summary>What is wrong, without the file and line.</summary>
    public string Reason { get; } = reason;
}
