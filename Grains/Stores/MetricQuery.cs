namespace Orchestrator.Grains.Storage;

/// <summary>Which metric samples of a job to read; every bound is optional and inclusive.</summary>
/// <param name="Name">Only this metric.</param>
/// <param name="FromStep">Only steps at or after this one.</param>
/// <param name="ToStep">Only steps at or before this one.</param>
public sealed record MetricQuery(string? Name = null, long? FromStep = null, long? ToStep = null)
{
    /// <summary>Every sample of the job.</summary>
    public static MetricQuery All { get; } = new();
}
