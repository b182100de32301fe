namespace Orchestrator.Grains.Storage;

/// <summary>
/// The cluster's nodes and their devices (rank slots) in the index, as the cluster grain records them
/// from registrations and death reports.
/// </summary>
/// <remarks>
/// Invalid input throws <see cref="ArgumentException"/> naming the argument and what is wrong with it,
/// before anything is written.
/// </remarks>
public interface INodeStore
{
    /// <summary>Records a node as alive now, with exactly the given devices.</summary>
    Task UpsertNodeAsync(NodeRegistration node, CancellationToken cancellationToken = default);

    /// <summary>Marks a node alive or dead and stamps it as seen now.</summary>
    /// <returns>False if no such node is recorded.</returns>
    Task<bool> MarkNodeAsync(string name, NodeStatus status, CancellationToken cancellationToken = default);

    /// <summary>Every recorded node with its devices, ordered by name.</summary>
    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default);
}
