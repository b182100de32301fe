using System.Text.Json;

namespace Orchestrator.Grains.Jobs;

/// <summary>The kinds of a job's history entries and their details, written and read back as JSON.</summary>
internal static class JobEvents
{
    public const string Submitted = "submitted";
    public const string Planned = "planned";
    public const string Started = "started";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";
    public const string NodeLost = "node-lost";
    public const string Recovering = "recovering";
    public const string WaitingForNodes = "waiting-for-nodes";
    public const string Recovered = "recovered";
    public const string DataPlane = "data-plane";

    /// <summary>A re-placement of the routed experts: {step, from, to, rank_loads_before, rank_loads_after, copies, bytes, seconds} (JobGrain.Experts.cs).</summary>
    public const string ExpertReplacement = "expert-replacement";

    /// <summary>A recovery's first completed step: where its state came from and how long each part took (JobGrain.Resumed.cs).</summary>
    public const string Resumed = "resumed";

    /// <summary>An alert the job raised: {kind, step, message, values} (JobGrain.Alerts.cs).</summary>
    public const string Alert = "alert";

    /// <summary>A grpo step's sampled completions with their rewards (rank 0's few, for the dashboard's table).</summary>
    public const string GrpoSamples = "grpo-samples";

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Detail<T>(T detail) => JsonSerializer.Serialize(detail, Options);

    public static RankPlan? ReadPlan(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<RankPlan>(json, Options);
}
