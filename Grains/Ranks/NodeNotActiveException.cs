namespace Orchestrator.Grains.Ranks;

/// <summary>A rank was addressed to a node that has no active silo: it cannot be placed anywhere else.</summary>
[GenerateSerializer]
public sealed class NodeNotActiveException : Exception
{
    public NodeNotActiveException() { }

    public NodeNotActiveException(string message) : base(message) { }

    public NodeNotActiveException(string message, Exception inner) : base(message, inner) { }
}
