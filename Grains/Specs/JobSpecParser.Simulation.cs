using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>The spec's <c>simulation</c> object: {"step_ms": ms, "shard_kb": KiB, "skew": exponent}, each optional.</summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> SimulationFields = ["step_ms", "shard_kb", "skew"];

    private static SimulationSpec? Simulation(JsonNode? node)
    {
        if (node is null) return null;
        if (node is not JsonObject simulation)
            throw new JobSpecException("simulation", "must be an object {\"step_ms\": ms, \"shard_kb\": KiB, \"skew\": exponent}");
        RejectUnknown(simulation, SimulationFields, "simulation.");
        var defaults = SimulationSpec.Default;
        var stepMs = simulation["step_ms"] is { } s ? Number(s, "simulation.step_ms") : defaults.StepMilliseconds;
        if (!(stepMs > 0) || stepMs > 3_600_000)
            throw new JobSpecException("simulation.step_ms", $"must be a number of milliseconds above 0 and at most an hour (got {stepMs})");
        var shardKb = Integer(simulation, "shard_kb", "simulation.shard_kb", required: false, min: 0) ?? defaults.ShardKilobytes;
        if (shardKb > 1 << 20) throw new JobSpecException("simulation.shard_kb", $"must be at most 1048576 (1 GiB; got {shardKb})");
        var skew = simulation["skew"] is { } k ? Number(k, "simulation.skew") : defaults.Skew;
        if (!(skew >= 0) || skew > 10) throw new JobSpecException("simulation.skew", $"must be a number from 0 to 10 (got {skew})");
        return new SimulationSpec(stepMs, shardKb, skew);
    }

    private static JsonObject SimulationJson(SimulationSpec simulation) => new()
    {
        ["step_ms"] = simulation.StepMilliseconds, ["shard_kb"] = simulation.ShardKilobytes, ["skew"] = simulation.Skew,
    };
}
