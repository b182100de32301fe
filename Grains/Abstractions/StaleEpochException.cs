namespace Orchestrator.Grains;

/// <summary>
/// A rank-level call from an older (or newer) epoch than the one it reached: the fence that stops a
/// half-dead node, or a rank of an abandoned plan, from acting on a job.
/// </summary>
[GenerateSerializer]
public sealed class StaleEpochException : Exception
{
    public StaleEpochException() { }

    public StaleEpochException(string message) : base(message) { }

    public StaleEpochException(string message, Exception inner) : base(message, inner) { }

    public StaleEpochException(string target, long expected, long carried)
        : base($"{target} is at epoch {expected}; a call carrying epoch {carried} is refused") { }
}
