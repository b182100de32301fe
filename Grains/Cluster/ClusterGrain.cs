using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Planning;
using Orchestrator.Grains.Storage;
using Orleans.Runtime;

namespace Orchestrator.Grains.Cluster;

/// <summary>
/// The cluster's nodes and device slots. Nodes come from silo registrations and the store; a node is
/// alive when the store says so and an active silo carries its name. Death reports come from every
/// silo's membership watcher and are passed on to the running jobs.
/// </summary>
public sealed partial class ClusterGrain(
    INodeStore nodeStore, IJobStore jobStore, IClusterMembershipService membership, ILogger<ClusterGrain> logger) : Grain, IClusterGrain
{
    // Silo address of each node's current silo, as registered (empty when known only from the store).
    private readonly Dictionary<string, string> _silos = new(StringComparer.Ordinal);

    // Device slots reserved by running jobs: job id → (node, device) pairs. Kept in memory: a
    // reactivated cluster grain forgets them, which is safe while a node runs one job at a time.
    private readonly Dictionary<string, IReadOnlyList<RankAssignment>> _reservations = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task RegisterNode(NodeAnnouncement node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var devices = node.Devices.Select(DeviceSlot.Parse).ToList();
        await nodeStore.UpsertNodeAsync(new NodeRegistration(node.Name, node.Host, devices));
        _silos[node.Name] = node.SiloAddress;
        LogRegistered(node.Name, string.Join(",", node.Devices), node.SiloAddress);
    }

    /// <inheritdoc />
    public async Task NodeDown(string name, string siloAddress)
    {
        if (_silos.TryGetValue(name, out var current) && current.Length > 0 && current != siloAddress) return;
        // A silo that starts late also sees (and reports) deaths from before it joined; when the node has
        // come back since, under a newer silo, the report is stale — this grain may be a fresh activation
        // that does not know the newer silo, so ask membership.
        if (membership.CurrentSnapshot.Members.Values.Any(m =>
                m.Status == SiloStatus.Active && m.Name == name && m.SiloAddress.ToParsableString() != siloAddress))
            return;
        if (!await nodeStore.MarkNodeAsync(name, NodeStatus.Dead)) return;
        _silos.Remove(name);
        LogNodeDown(name, siloAddress);
        // From the store, not from memory: this grain may just have been reactivated on another silo.
        var jobs = (await jobStore.ListJobsAsync(JobPhase.Running))
            .Concat(await jobStore.ListJobsAsync(JobPhase.Planning))
            .Concat(await jobStore.ListJobsAsync(JobPhase.Recovering));
        foreach (var job in jobs)
        {
            try
            {
                await GrainFactory.GetGrain<IJobGrain>(job.Id).NodeLost(name);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogNotifyFailed(e, job.Id, name);
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NodeView>> GetNodes()
    {
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .GroupBy(m => m.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(m => m.SiloAddress.Generation).First().SiloAddress.ToParsableString(), StringComparer.Ordinal);
        var nodes = await nodeStore.ListNodesAsync();
        return nodes
            .Select(n => new NodeView(
                n.Name, n.Host, n.Status == NodeStatus.Alive && active.ContainsKey(n.Name),
                n.Devices.Select(d => d.Id).ToList(), active.GetValueOrDefault(n.Name, string.Empty)))
            .ToList();
    }

    /// <inheritdoc />
    public async Task<RankPlan> PlanJob(string jobId, long epoch, ParallelSpec layout, int expertGroups, bool simulated = false)
    {
        _reservations.Remove(jobId);
        var taken = _reservations.Values.SelectMany(r => r).Select(r => (r.Node, r.Device)).ToHashSet();
        var nodes = (await GetNodes())
            .Where(n => n.Alive)
            // A simulated job takes only sim:N slots, and a real job never does: a rank's device decides what it runs.
            .Select(n => new NodeSlots(n.Name, n.Devices.Where(d => !taken.Contains((n.Name, d)) && DeviceSlot.IsSimulated(d) == simulated).ToList()))
            .ToList();
        var plan = RankPlanner.Plan(epoch, layout.ToLayout(), expertGroups, nodes);
        _reservations[jobId] = plan.Ranks;
        return plan;
    }

    /// <inheritdoc />
    public Task ReleaseJob(string jobId)
    {
        _reservations.Remove(jobId);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobStatus>> GetJobs()
    {
        var jobs = await jobStore.ListJobsAsync();
        var statuses = await Task.WhenAll(jobs.Select(j => GrainFactory.GetGrain<IJobGrain>(j.Id).GetStatus()));
        return statuses;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} registered with devices {Devices} (silo {Silo})")]
    private partial void LogRegistered(string node, string devices, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} is down (silo {Silo})")]
    private partial void LogNodeDown(string node, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell job {Job} that node {Node} is down")]
    private partial void LogNotifyFailed(Exception exception, string job, string node);
}
