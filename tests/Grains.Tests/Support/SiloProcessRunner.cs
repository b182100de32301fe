using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Orleans.Runtime;

namespace Orchestrator.Grains.Tests.Support;

/// <summary>A silo in a child process (tests/Grains.Tests/SiloProcess), so that a test can kill it by pid.</summary>
public sealed class SiloProcessRunner : IDisposable
{
    private readonly Process _process;

    private SiloProcessRunner(Process process, SiloAddress address)
    {
        _process = process;
        Address = address;
    }

    /// <summary>The silo's address, as it reported once it had joined.</summary>
    public SiloAddress Address { get; }

    /// <summary>Starts the silo and waits until it reports that it has joined the cluster.</summary>
    public static async Task<SiloProcessRunner> StartAsync(
        string connectionString, string clusterId, string name, int siloPort, int gatewayPort, CancellationToken cancellationToken)
    {
        var path = typeof(SiloProcessRunner).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "SiloProcessPath").Value!;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { path, connectionString, clusterId, name, siloPort.ToString(CultureInfo.InvariantCulture), gatewayPort.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the silo process");
        try
        {
            var line = await process.StandardOutput.ReadLineAsync(cancellationToken);
            if (line is null || !line.StartsWith("silo ", StringComparison.Ordinal))
            {
                var error = await process.StandardError.ReadToEndAsync(cancellationToken);
                throw new InvalidOperationException($"the silo process did not start: {line} {error}");
            }

            return new SiloProcessRunner(process, SiloAddress.FromParsableString(line["silo ".Length..]));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown, no goodbye in the membership table.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
