namespace Orchestrator.Grains.Planning;

/// <summary>A live node and the device slots it can give a new job.</summary>
/// <param name="Name">The node (silo name).</param>
/// <param name="FreeDevices">Its free device ids, in the order they are handed out.</param>
public sealed record NodeSlots(string Name, IReadOnlyList<string> FreeDevices);
