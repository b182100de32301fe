namespace Orchestrator.Grains;

/// <summary>One alert a job raised: recorded as an <c>alert</c> event, kept in <see cref="JobStatus.Alerts"/>.</summary>
/// <param name="Kind">What: <c>loss-nan</c>, <c>loss-spike</c>, <c>max-vio</c>, <c>rank-stalled</c>, <c>checkpoint-failed</c>, <c>disk-low</c>.</param>
/// <param name="Step">The step it concerns (the last step reported when it is not a step's).</param>
/// <param name="Message">What happened and what was done, for people.</param>
/// <param name="Values">The values that triggered it (e.g. <c>max_vio</c>, <c>threshold</c>, <c>steps</c>).</param>
/// <param name="At">When it was raised.</param>
[GenerateSerializer, Immutable]
public sealed record JobAlert(
    [property: Id(0)] string Kind,
    [property: Id(1)] long Step,
    [property: Id(2)] string Message,
    [property: Id(3)] IReadOnlyDictionary<string, double> Values,
    [property: Id(4)] DateTimeOffset At)
{
    /// <summary>A step's loss was NaN or infinite.</summary>
    public const string LossNan = "loss-nan";

    /// <summary>A step's loss was far above the recent ones.</summary>
    public const string LossSpike = "loss-spike";

    /// <summary>MaxVio stayed above the threshold for the given number of steps.</summary>
    public const string MaxVioHigh = "max-vio";

    /// <summary>A rank sent no step report for too long.</summary>
    public const string RankStalled = "rank-stalled";

    /// <summary>A checkpoint shard could not be written, or the commit failed.</summary>
    public const string CheckpointFailed = "checkpoint-failed";

    /// <summary>The checkpoint storage root is nearly full.</summary>
    public const string DiskLow = "disk-low";
}
