namespace Orchestrator.Grains.Storage;

/// <summary>
/// A job's phase as the index's <c>jobs.state</c> column holds it. The text is the phase's name, except that a
/// submitted job is stored as "Pending" (the name the store used before phases and states were one type), so
/// that existing databases read the same.
/// </summary>
public static class StoredJobPhase
{
    private const string Pending = "Pending";

    /// <summary>The column's text for <paramref name="phase"/>.</summary>
    public static string ToText(JobPhase phase) => phase == JobPhase.Submitted ? Pending : phase.ToString();

    /// <summary>The phase the column's <paramref name="text"/> names (names only: not numbers, not other cases).</summary>
    public static JobPhase Parse(string text) =>
        ByText.TryGetValue(text, out var phase) ? phase : throw new InvalidDataException($"the store holds '{text}', which is not a job state");

    private static readonly Dictionary<string, JobPhase> ByText = Enum.GetValues<JobPhase>().ToDictionary(ToText, StringComparer.Ordinal);
}
