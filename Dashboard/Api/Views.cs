using System.Text.Json.Nodes;
using Orchestrator.Grains;
using Orchestrator.Grains.Storage;

namespace Orchestrator.Dashboard;

/// <summary>A device slot of a node and the job rank using it, if any.</summary>
/// <param name="Id">The device, e.g. <c>cpu:0</c>.</param>
/// <param name="Job">The job whose rank runs there, or null when free.</param>
/// <param name="Rank">That rank, or null.</param>
public sealed record DeviceView(string Id, string? Job, int? Rank);

/// <summary>A node of the cluster.</summary>
/// <param name="Name">The node name.</param>
/// <param name="Host">Its host.</param>
/// <param name="Alive">Whether its silo is an active member.</param>
/// <param name="SiloAddress">Its silo's address, empty when not alive.</param>
/// <param name="Devices">Its device slots and their use.</param>
public sealed record NodeInfo(string Name, string Host, bool Alive, string SiloAddress, IReadOnlyList<DeviceView> Devices);

/// <summary>A job's rank and where it runs.</summary>
/// <param name="Rank">Global rank.</param>
/// <param name="EpRank">Place in its EP group.</param>
/// <param name="DpRank">Its DP replica.</param>
/// <param name="Node">The node.</param>
/// <param name="Device">The device slot.</param>
public sealed record RankView(int Rank, int EpRank, int DpRank, string Node, string Device);

/// <summary>A job as the API shows it. Numbers that are not yet known (a loss before the first step) are null.</summary>
/// <param name="Id">The job id.</param>
/// <param name="Phase">Submitted, Planning, Running, Completed, Failed, Cancelled, …</param>
/// <param name="Epoch">The fencing epoch.</param>
/// <param name="Step">The last step reported.</param>
/// <param name="Steps">The step count it aims at.</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="TokensPerSecond">Throughput of the last step, over all ranks.</param>
/// <param name="MaxVio">MaxVio of the last step.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Final">True once it will not change again.</param>
/// <param name="UpdatedAt">When its phase last changed.</param>
/// <param name="Plan">Its ranks, once planned.</param>
public sealed record JobView(
    string Id, string Phase, long Epoch, long Step, long Steps, double? Loss, double? TokensPerSecond, double? MaxVio,
    string? Error, bool Final, DateTimeOffset UpdatedAt, IReadOnlyList<RankView> Plan)
{
    /// <summary>The alerts the job raised, oldest first (NaN loss or spike, MaxVio, stalled rank, checkpoint failure, low disk).</summary>
    public IReadOnlyList<AlertView> Alerts { get; init; } = [];

    /// <summary>The view of a grain's status.</summary>
    public static JobView Of(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new JobView(status.Id, status.Phase.ToString(), status.Epoch, status.Step, status.Steps, Finite(status.Loss),
            Finite(status.TokensPerSecond), Finite(status.MaxVio), status.Error, status.IsFinal, status.UpdatedAt,
            status.Plan?.Ranks.Select(r => new RankView(r.Rank, r.EpRank, r.DpRank, r.Node, r.Device)).ToList() ?? [])
        {
            Alerts = [.. status.Alerts.Select(AlertView.Of)],
        };
    }

    /// <summary>JSON has no NaN: an unknown or diverged number is null.</summary>
    public static double? Finite(double value) => double.IsFinite(value) ? value : null;
}

/// <summary>One alert of a job.</summary>
/// <param name="Kind"><c>loss-nan</c>, <c>loss-spike</c>, <c>max-vio</c>, <c>rank-stalled</c>, <c>checkpoint-failed</c>, <c>disk-low</c>.</param>
/// <param name="Step">The step it concerns.</param>
/// <param name="Message">What happened and what was done.</param>
/// <param name="Values">The values that triggered it (null where not finite).</param>
/// <param name="At">When it was raised.</param>
public sealed record AlertView(string Kind, long Step, string Message, IReadOnlyDictionary<string, double?> Values, DateTimeOffset At)
{
    /// <summary>The view of a job's alert.</summary>
    public static AlertView Of(JobAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return new AlertView(alert.Kind, alert.Step, alert.Message,
            alert.Values.ToDictionary(v => v.Key, v => JobView.Finite(v.Value), StringComparer.Ordinal), alert.At);
    }
}

/// <summary>A job with its spec as stored (model inline).</summary>
/// <param name="Status">Where it is.</param>
/// <param name="Spec">The spec.</param>
public sealed record JobDetail(JobView Status, JsonNode? Spec);

/// <summary>One entry of a job's history.</summary>
/// <param name="Seq">Its place, from 1.</param>
/// <param name="At">When.</param>
/// <param name="Kind">submitted, planned, started, node-lost, checkpoint-committed, completed, …</param>
/// <param name="Detail">Details, as recorded.</param>
public sealed record EventView(long Seq, DateTimeOffset At, string Kind, JsonNode? Detail)
{
    /// <summary>The view of a stored event.</summary>
    public static EventView Of(JobEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new EventView(e.Seq, e.At, e.Kind, e.DetailJson is null ? null : JsonNode.Parse(e.DetailJson));
    }
}

/// <summary>A job's metric series: name → points <c>[step, value]</c> (value null for NaN).</summary>
/// <param name="Series">The series, e.g. <c>loss</c>, <c>tokens_per_s</c>, <c>max_vio</c>, <c>lr</c>.</param>
public sealed record MetricsView(IReadOnlyDictionary<string, IReadOnlyList<double?[]>> Series)
{
    /// <summary>Groups samples by name.</summary>
    public static MetricsView Of(IEnumerable<MetricSample> samples) =>
        new(samples.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(
            g => g.Key, g => (IReadOnlyList<double?[]>)g.Select(s => new[] { s.Step, JobView.Finite(s.Value) }).ToList(), StringComparer.Ordinal));
}

/// <summary>One MoE layer's expert loads and biases after one step.</summary>
/// <param name="Step">The step.</param>
/// <param name="Layer">The MoE layer.</param>
/// <param name="Loads">Tokens routed to each expert.</param>
/// <param name="Biases">Each expert's routing bias (null where not finite).</param>
public sealed record ExpertLoadView(long Step, int Layer, IReadOnlyList<long> Loads, IReadOnlyList<double?> Biases)
{
    /// <summary>The view of a stored sample.</summary>
    public static ExpertLoadView Of(ExpertLoadSample s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new ExpertLoadView(s.Step, s.Layer, s.Loads, s.Biases.Select(JobView.Finite).ToList());
    }
}

/// <summary>The cluster at a glance: nodes (with which job uses which device) and jobs.</summary>
/// <param name="Nodes">Every known node, by name.</param>
/// <param name="Jobs">Every job, oldest first.</param>
public sealed record ClusterView(IReadOnlyList<NodeInfo> Nodes, IReadOnlyList<JobView> Jobs);

/// <summary>A model config the job form offers.</summary>
/// <param name="Name">Its name (the spec's <c>"config"</c>).</param>
/// <param name="Json">Its JSON.</param>
public sealed record ConfigView(string Name, JsonNode? Json);

/// <summary>What the job form proposes.</summary>
/// <param name="Configs">Named configs.</param>
/// <param name="DefaultData">The data folder proposed.</param>
public sealed record FormDefaults(IReadOnlyList<string> Configs, string? DefaultData);

/// <summary>A committed checkpoint of a job.</summary>
/// <param name="Step">Steps completed when it was taken; a restored job continues from here.</param>
/// <param name="Epoch">The job epoch that wrote it.</param>
/// <param name="CommittedAt">When it was committed.</param>
/// <param name="Bytes">Total size of its shards.</param>
/// <param name="DurationSeconds">Snapshot to last shard written.</param>
/// <param name="Shards">Shard count (one per rank).</param>
public sealed record CheckpointView(long Step, long Epoch, DateTimeOffset CommittedAt, long Bytes, double DurationSeconds, int Shards)
{
    /// <summary>The view of a manifest.</summary>
    public static CheckpointView Of(CheckpointManifest m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new CheckpointView(m.Step, m.Epoch, m.CommittedAt, m.Bytes, m.DurationSeconds, m.Shards.Count);
    }
}

/// <summary>What <c>POST /api/jobs/{id}/restore</c> takes.</summary>
/// <param name="Step">The committed checkpoint to start from.</param>
/// <param name="Id">The new job's id; default <c>JOB-from-STEP</c>.</param>
public sealed record RestoreRequest(long? Step, string? Id);
