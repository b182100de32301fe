namespace Orchestrator.Grains.Storage;

/// <summary>Whether a node's silo is in the cluster.</summary>
public enum NodeStatus
{
    /// <summary>Its silo is a member; its devices can take ranks.</summary>
    Alive,

    /// <summary>Its silo was declared dead (or stopped); its devices take nothing.</summary>
    Dead,
}
