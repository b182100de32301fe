namespace Orchestrator.Grains;

/// <summary>How a job recovers from a lost node or rank (job spec <c>recovery</c>).</summary>
/// <param name="TimeoutSeconds">How long a recovery waits for enough live devices before the job fails.</param>
/// <param name="MaxAttempts">How many recoveries a job may go through before it fails.</param>
[GenerateSerializer, Immutable]
public sealed record RecoveryPolicy(
    [property: Id(0)] double TimeoutSeconds,
    [property: Id(1)] int MaxAttempts)
{
    /// <summary>Ten minutes of waiting, up to 20 recoveries.</summary>
    public static readonly RecoveryPolicy Default = new(600, 20);
}
