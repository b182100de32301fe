using System.Text.Json.Serialization;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Kernels.Training;

/// <summary>
/// The expert map as a checkpoint's state records it (<c>expert_map</c>: the version and every MoE layer's slots), so a
/// resume builds its ranks on the map the checkpoint was written with — the map in use at that step, before any later move.
/// </summary>
public sealed record ExpertMapState
{
    /// <summary>The map's version.</summary>
    [JsonPropertyName("version")] public long Version { get; init; }

    /// <summary>Per MoE layer, the logical expert of each physical slot.</summary>
    [JsonPropertyName("slots")] public int[][] Slots { get; init; } = [];

    /// <summary>The record of <paramref name="map"/>, or null for the formula placement at version 0 (what a state without one means).</summary>
    public static ExpertMapState? Of(ExpertMap? map) =>
        map is null || (map.Version == 0 && map.Layers.All(l => l.IsIdentity)) ? null : new ExpertMapState { Version = map.Version, Slots = map.ToSlots() };

    /// <summary>The map over <paramref name="ranks"/> ranks of <paramref name="experts"/> experts.</summary>
    /// <exception cref="InvalidDataException">The recorded slots are not a map of that shape.</exception>
    public ExpertMap ToMap(int experts, int ranks)
    {
        try
        {
            return new ExpertMap(Version, Slots.Select(s => ExpertLayerMap.Create(experts, ranks, s)).ToArray());
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"the checkpoint's expert map (version {Version}) does not fit {experts} experts over {ranks} ranks: {e.Message}", e);
        }
    }
}
