using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>The spec's <c>recovery</c> object: {"timeout_s": seconds, "max_attempts": N}, both optional.</summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> RecoveryFields = ["timeout_s", "max_attempts"];

    private static RecoveryPolicy Recovery(JsonNode? node)
    {
        if (node is null) return RecoveryPolicy.Default;
        if (node is not JsonObject recovery) throw new JobSpecException("recovery", "must be an object {\"timeout_s\": seconds, \"max_attempts\": N}");
        RejectUnknown(recovery, RecoveryFields, "recovery.");
        var timeout = recovery["timeout_s"] is { } t ? Number(t, "recovery.timeout_s") : RecoveryPolicy.Default.TimeoutSeconds;
        if (!(timeout > 0) || double.IsInfinity(timeout))
            throw new JobSpecException("recovery.timeout_s", $"must be a number of seconds greater than 0 (got {timeout})");
        var attempts = Integer(recovery, "max_attempts", "recovery.max_attempts", required: false, min: 0) ?? RecoveryPolicy.Default.MaxAttempts;
        return new RecoveryPolicy(timeout, attempts);
    }

    private static JsonObject RecoveryJson(RecoveryPolicy policy) =>
        new() { ["timeout_s"] = policy.TimeoutSeconds, ["max_attempts"] = policy.MaxAttempts };
}
