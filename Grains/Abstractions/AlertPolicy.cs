namespace Orchestrator.Grains;

/// <summary>What a job does with a step whose loss is NaN or infinite (spec <c>alerts.on_nan</c>).</summary>
public enum NonFiniteLossAction
{
    /// <summary>The job fails (the behaviour before alerts existed).</summary>
    Fail,

    /// <summary>The step's update is not applied, on every rank alike; the job goes on with the next step.</summary>
    Skip,

    /// <summary>The ranks stop; the job recovers from its last committed checkpoint (a new epoch), as after a lost node.</summary>
    Rollback,
}

/// <summary>
/// When a job raises alerts (job spec <c>alerts</c>): each alert is recorded as an <c>alert</c> event, logged as a warning,
/// kept in the job's status and counted in the <c>orchestrator.alerts</c> metric, once per episode.
/// </summary>
/// <param name="OnNan">What a non-finite loss does.</param>
/// <param name="LossSpikeFactor">A finite loss above this many times the median of the recent losses is a spike; 0 turns it off.</param>
/// <param name="MaxVio">MaxVio above this, for <paramref name="MaxVioSteps"/> steps in a row, raises an alert; null turns it off.</param>
/// <param name="MaxVioSteps">How many consecutive steps MaxVio must stay above <paramref name="MaxVio"/>.</param>
/// <param name="StallFactor">A rank with no step report for this many median step times (and at least <paramref name="StallMinSeconds"/>) is stalled.</param>
/// <param name="StallMinSeconds">The shortest silence called a stall, whatever the step time.</param>
/// <param name="DiskFreeMinMegabytes">At a checkpoint, less free space than this on the checkpoint storage root raises an alert; 0 turns it off.</param>
[GenerateSerializer, Immutable]
public sealed record AlertPolicy(
    [property: Id(0)] NonFiniteLossAction OnNan = NonFiniteLossAction.Fail,
    [property: Id(1)] double LossSpikeFactor = 3,
    [property: Id(2)] double? MaxVio = null,
    [property: Id(3)] int MaxVioSteps = 10,
    [property: Id(4)] double StallFactor = 10,
    [property: Id(5)] double StallMinSeconds = 30,
    [property: Id(6)] long DiskFreeMinMegabytes = 1024)
{
    /// <summary>The defaults: fail on NaN, spikes over 3× the recent median, no MaxVio alert, stalls past 10 step times (30 s at least), 1 GiB free.</summary>
    public static AlertPolicy Default { get; } = new();
}
