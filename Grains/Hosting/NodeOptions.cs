namespace Orchestrator.Grains.Hosting;

/// <summary>What this silo brings to the cluster: its node name, device slots, and where rank files go.</summary>
public sealed class NodeOptions
{
    /// <summary>The node name; also the silo name that rank placement matches.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The device slots, e.g. <c>cpu:0</c>, <c>cuda:3</c>.</summary>
    public IReadOnlyList<string> Devices { get; set; } = [];

    /// <summary>Root folder of checkpoint shards (<c>root/job/step/rank-R-eE.ota</c>), shared by the nodes (one folder on loopback, a shared filesystem in production).</summary>
    public string StorageRoot { get; set; } = Path.Combine(Path.GetTempPath(), "orchestrator-storage");
}
