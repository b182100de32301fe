namespace Orchestrator.Grains.Storage;

/// <summary>What a silo reports about its node when it joins: who it is and which devices it brings.</summary>
/// <param name="Name">The node name (<c>--node</c>), e.g. <c>n1</c>.</param>
/// <param name="Host">The host the silo runs on.</param>
/// <param name="Devices">The node's devices; they replace whatever was recorded before.</param>
public sealed record NodeRegistration(string Name, string Host, IReadOnlyList<DeviceSlot> Devices);
