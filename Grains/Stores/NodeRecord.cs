namespace Orchestrator.Grains.Storage;

/// <summary>A node as recorded in the index.</summary>
/// <param name="Name">The node name.</param>
/// <param name="Host">The host its silo last registered from.</param>
/// <param name="Status">Alive or dead.</param>
/// <param name="LastSeen">When it last registered or was marked.</param>
/// <param name="Devices">Its devices, ordered by kind then index.</param>
public sealed record NodeRecord(
    string Name, string Host, NodeStatus Status, DateTimeOffset LastSeen, IReadOnlyList<DeviceSlot> Devices);
