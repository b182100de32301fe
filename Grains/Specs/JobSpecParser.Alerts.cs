using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The spec's <c>alerts</c> object: {"on_nan": "fail"|"skip"|"rollback", "loss_spike_factor": x, "max_vio": x,
/// "max_vio_steps": N, "stall_factor": x, "stall_min_s": s, "disk_free_min_mb": MB}, each optional.
/// </summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> AlertFields =
        ["on_nan", "loss_spike_factor", "max_vio", "max_vio_steps", "stall_factor", "stall_min_s", "disk_free_min_mb"];

    private static AlertPolicy Alerts(JsonNode? node)
    {
        if (node is null) return AlertPolicy.Default;
        if (node is not JsonObject alerts)
            throw new JobSpecException("alerts", "must be an object {\"on_nan\": \"fail\"|\"skip\"|\"rollback\", \"max_vio\": x, …}");
        RejectUnknown(alerts, AlertFields, "alerts.");
        var defaults = AlertPolicy.Default;
        var onNan = alerts["on_nan"] is { } n ? NanAction(n) : defaults.OnNan;
        var spike = alerts["loss_spike_factor"] is { } s ? Number(s, "alerts.loss_spike_factor") : defaults.LossSpikeFactor;
        if (spike != 0 && !(spike > 1 && double.IsFinite(spike)))
            throw new JobSpecException("alerts.loss_spike_factor", $"must be 0 (off) or a finite number above 1 (got {spike})");
        double? maxVio = alerts["max_vio"] is { } v ? Number(v, "alerts.max_vio") : defaults.MaxVio;
        if (maxVio is { } threshold && !(threshold >= 0 && double.IsFinite(threshold)))
            throw new JobSpecException("alerts.max_vio", $"must be a finite number of at least 0 (got {threshold})");
        var maxVioSteps = Integer(alerts, "max_vio_steps", "alerts.max_vio_steps", required: false, min: 1) ?? defaults.MaxVioSteps;
        var stall = alerts["stall_factor"] is { } f ? Number(f, "alerts.stall_factor") : defaults.StallFactor;
        if (!(stall >= 1 && double.IsFinite(stall)))
            throw new JobSpecException("alerts.stall_factor", $"must be a finite number of at least 1 (got {stall})");
        var stallMin = alerts["stall_min_s"] is { } m ? Number(m, "alerts.stall_min_s") : defaults.StallMinSeconds;
        if (!(stallMin > 0 && double.IsFinite(stallMin)))
            throw new JobSpecException("alerts.stall_min_s", $"must be a finite number of seconds above 0 (got {stallMin})");
        var disk = Integer(alerts, "disk_free_min_mb", "alerts.disk_free_min_mb", required: false, min: 0L) ?? defaults.DiskFreeMinMegabytes;
        return new AlertPolicy(onNan, spike, maxVio, maxVioSteps, stall, stallMin, disk);
    }

    private static NonFiniteLossAction NanAction(JsonNode node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text)
            ? text switch
            {
                "fail" => NonFiniteLossAction.Fail,
                "skip" => NonFiniteLossAction.Skip,
                "rollback" => NonFiniteLossAction.Rollback,
                _ => throw new JobSpecException("alerts.on_nan", $"'{text}' is not one of fail, skip, rollback"),
            }
            : throw new JobSpecException("alerts.on_nan", $"must be \"fail\", \"skip\" or \"rollback\" (got {node.ToJsonString()})");

    private static JsonObject AlertsJson(AlertPolicy alerts)
    {
        var json = new JsonObject
        {
            ["on_nan"] = alerts.OnNan.ToString().ToLowerInvariant(),
            ["loss_spike_factor"] = alerts.LossSpikeFactor,
            ["max_vio_steps"] = alerts.MaxVioSteps,
            ["stall_factor"] = alerts.StallFactor,
            ["stall_min_s"] = alerts.StallMinSeconds,
            ["disk_free_min_mb"] = alerts.DiskFreeMinMegabytes,
        };
        if (alerts.MaxVio is { } maxVio) json["max_vio"] = maxVio;
        return json;
    }
}
