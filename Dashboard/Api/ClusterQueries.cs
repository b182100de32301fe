using Orchestrator.Grains;

namespace Orchestrator.Dashboard;

/// <summary>Reads the cluster view from the cluster grain: nodes, their devices and the job ranks on them.</summary>
public sealed class ClusterQueries(IGrainFactory grains)
{
    /// <summary>Nodes and jobs now.</summary>
    public async Task<ClusterView> GetAsync()
    {
        var cluster = grains.GetGrain<IClusterGrain>(IClusterGrain.Key);
        var nodes = await cluster.GetNodes();
        var jobs = await cluster.GetJobs();
        var uses = jobs.Where(j => !j.IsFinal && j.Plan is not null)
            .SelectMany(j => j.Plan!.Ranks.Select(r => (Key: (r.Node, r.Device), Job: j.Id, r.Rank)))
            .GroupBy(u => u.Key)
            .ToDictionary(g => g.Key, g => g.Last());
        var views = nodes.Select(n => new NodeInfo(n.Name, n.Host, n.Alive, n.SiloAddress,
            n.Devices.Select(d => uses.TryGetValue((n.Name, d), out var use)
                ? new DeviceView(d, use.Job, use.Rank)
                : new DeviceView(d, null, null)).ToList())).ToList();
        return new ClusterView(views, jobs.Select(JobView.Of).ToList());
    }
}
