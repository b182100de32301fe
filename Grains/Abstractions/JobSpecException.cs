namespace Orchestrator.Grains;

/// <summary>A job spec that cannot run: the message names the field and why. Nothing was recorded.</summary>
[GenerateSerializer]
public sealed class JobSpecException : Exception
{
    public JobSpecException() { }

    public JobSpecException(string message) : base(message) { }

    public JobSpecException(string message, Exception inner) : base(message, inner) { }

    /// <summary>A problem with one field, written <c>field: reason</c>.</summary>
    public JobSpecException(string field, string reason) : base($"{field}: {reason}") { }
}
