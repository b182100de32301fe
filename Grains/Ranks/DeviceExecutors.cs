using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Orchestrator.Grains.Ranks;

/// <summary>The silo's device executors, one per device slot of its node, created on first use.</summary>
public sealed class DeviceExecutors(IOptions<RankOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, DeviceExecutor> _executors = new(StringComparer.Ordinal);

    /// <summary>The executor of <paramref name="device"/>.</summary>
    public DeviceExecutor For(string device) => _executors.GetOrAdd(device, d => new DeviceExecutor(d, options.Value.DeviceStopWait));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var executor in _executors.Values)
        {
            executor.Dispose();
        }
    }
}
