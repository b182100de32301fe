using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace Orchestrator.Grains.Tests.Support;

/// <summary>One real Orleans silo in this process (localhost clustering, loopback ports), shared by a test class.</summary>
public sealed class LocalSilo : IAsyncLifetime
{
    private IHost? _host;

    /// <summary>The silo's grain factory.</summary>
    public IGrainFactory Grains => _host!.Services.GetRequiredService<IGrainFactory>();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var ports = FreeLoopbackPorts(2);
        _host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleans(silo => silo.UseLocalhostClustering(ports[0], ports[1]))
            .Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _host.StartAsync(timeout.Token);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_host is null) return;
        await _host.StopAsync(TimeSpan.FromSeconds(10));
        _host.Dispose();
    }

    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var l in listeners) l.Start();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var l in listeners) l.Stop();
        return ports;
    }
}
