using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Cluster.Tests.Support;

public static class Ports
{
    /// <summary>Distinct free loopback ports (held open together so that they differ).</summary>
    public static int[] Free(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    /// <summary>
    /// <paramref name="count"/> consecutive free loopback ports (a process that hosts several nodes takes its ports
    /// counted up from one): a random run in the ephemeral range whose every port binds, tried until one does.
    /// </summary>
    public static int FreeRun(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var first = Random.Shared.Next(20_000, 60_000 - count);
            var listeners = new List<TcpListener>();
            try
            {
                for (var port = first; port < first + count; port++)
                {
                    var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    listeners.Add(listener);
                }

                return first;
            }
            catch (SocketException)
            {
                // taken: try another run
            }
            finally
            {
                listeners.ForEach(l => l.Stop());
            }
        }

        throw new InvalidOperationException($"no run of {count} free loopback ports found");
    }
}
