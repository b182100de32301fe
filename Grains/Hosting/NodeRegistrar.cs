using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Orchestrator.Grains.Hosting;

/// <summary>Registers this silo's node and devices with the cluster grain once the silo is active.</summary>
public sealed partial class NodeRegistrar(
    IGrainFactory grains, ILocalSiloDetails silo, IOptions<NodeOptions> node, ILogger<NodeRegistrar> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the node is registered.</summary>
    public Task Registered => _registered.Task;

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(NodeRegistrar), ServiceLifecycleStage.Active, RegisterAsync, _ => Task.CompletedTask);
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var announcement = new NodeAnnouncement(node.Value.Name, Dns.GetHostName(), node.Value.Devices, silo.SiloAddress.ToParsableString());
        await grains.GetGrain<IClusterGrain>(IClusterGrain.Key).RegisterNode(announcement).WaitAsync(cancellationToken);
        LogRegistered(node.Value.Name, node.Value.Devices.Count);
        _registered.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Node} registered with {Devices} device slot(s)")]
    private partial void LogRegistered(string node, int devices);
}
