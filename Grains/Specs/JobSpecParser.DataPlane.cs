using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>The spec's <c>data_plane</c>: "auto" (the default), "nccl" or "grains".</summary>
public static partial class JobSpecParser
{
    private static DataPlaneMode DataPlane(JsonNode? node)
    {
        if (node is null) return DataPlaneMode.Auto;
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
            throw new JobSpecException("data_plane", "must be one of \"auto\", \"nccl\", \"grains\"");
        var mode = value.GetValue<string>() switch
        {
            "auto" => DataPlaneMode.Auto,
            "nccl" => DataPlaneMode.Nccl,
            "grains" => DataPlaneMode.Grains,
            var other => throw new JobSpecException("data_plane", $"'{other}' is not a data plane: one of \"auto\", \"nccl\", \"grains\""),
        };
        return mode;
    }

    private static string DataPlaneName(DataPlaneMode mode) => mode switch
    {
        DataPlaneMode.Nccl => "nccl",
        DataPlaneMode.Grains => "grains",
        _ => "auto",
    };
}
