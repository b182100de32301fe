using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>The spec's <c>data_plane</c>: "auto" (the default), "nccl" or "grains".</summary>
public static partial class JobSpecParser
{
    private static DataPlaneMode DataPlane(JsonNode? node) =>
        NameIn(node, "data_plane", "must be one of \"auto\", \"nccl\", \"grains\"") switch
        {
            null or "auto" => DataPlaneMode.Auto,
            "nccl" => DataPlaneMode.Nccl,
            "grains" => DataPlaneMode.Grains,
            var other => throw new JobSpecException("data_plane", $"'{other}' is not a data plane: one of \"auto\", \"nccl\", \"grains\""),
        };

    /// <summary>A field whose value is one name of a fixed set: the name, or null when the field is absent.</summary>
    private static string? NameIn(JsonNode? node, string field, string notAName)
    {
        if (node is null) return null;
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.String) throw new JobSpecException(field, notAName);
        return value.GetValue<string>();
    }

    private static string DataPlaneName(DataPlaneMode mode) => mode switch
    {
        DataPlaneMode.Nccl => "nccl",
        DataPlaneMode.Grains => "grains",
        _ => "auto",
    };
}
