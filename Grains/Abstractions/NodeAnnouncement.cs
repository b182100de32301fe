namespace Orchestrator.Grains;

/// <summary>What a silo says about its node when it starts.</summary>
/// <param name="Name">The node name (<c>--node</c>, the silo name).</param>
/// <param name="Host">The host it runs on.</param>
/// <param name="Devices">Its device slots, e.g. <c>cpu:0</c>, <c>cuda:3</c>.</param>
/// <param name="SiloAddress">The silo's address, so that the death of an older silo of the same node is told apart.</param>
[GenerateSerializer, Immutable]
public sealed record NodeAnnouncement(
    [property: Id(0)] string Name,
    [property: Id(1)] string Host,
    [property: Id(2)] IReadOnlyList<string> Devices,
    [property: Id(3)] string SiloAddress);
