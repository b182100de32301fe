namespace Orchestrator.Grains;

/// <summary>A node as the cluster grain sees it.</summary>
/// <param name="Name">The node name.</param>
/// <param name="Host">Its host.</param>
/// <param name="Alive">Whether its silo is a member.</param>
/// <param name="Devices">Its device slots.</param>
/// <param name="SiloAddress">Its silo's address (empty for nodes known only from the store).</param>
[GenerateSerializer, Immutable]
public sealed record NodeView(
    [property: Id(0)] string Name,
    [property: Id(1)] string Host,
    [property: Id(2)] bool Alive,
    [property: Id(3)] IReadOnlyList<string> Devices,
    [property: Id(4)] string SiloAddress);
