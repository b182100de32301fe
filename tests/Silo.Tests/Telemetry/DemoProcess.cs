using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Silo.Tests.Telemetry;

/// <summary>
/// The real <c>orchestrator</c> executable left running (<c>demo --stay</c>): started, waited on until a line of
/// its standard output says it is ready, then killed with its process tree.
/// </summary>
public sealed class DemoProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyLine;

    private DemoProcess(string readyLine, IEnumerable<string> args)
    {
        _readyLine = readyLine;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "orchestrator.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("ORCHESTRATOR_LIBTORCH");
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Seen(e.Data);
        _process.ErrorDataReceived += (_, e) => Seen(e.Data);
        _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"orchestrator exited ({_process.ExitCode}) before '{_readyLine}':\n{Output}"));
    }

    /// <summary>Everything it wrote so far, standard output and error together.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Starts <c>orchestrator <paramref name="args"/></c> and waits until a line starts with <paramref name="readyLine"/>.</summary>
    public static async Task<DemoProcess> StartAsync(string readyLine, TimeSpan timeout, params string[] args)
    {
        var demo = new DemoProcess(readyLine, args);
        demo._process.Start();
        demo._process.BeginOutputReadLine();
        demo._process.BeginErrorReadLine();
        try
        {
            await demo._ready.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            demo.Dispose();
            throw new TimeoutException($"orchestrator {string.Join(' ', args)} did not print '{readyLine}' in {timeout}:\n{demo.Output}");
        }
        catch
        {
            demo.Dispose();
            throw;
        }
        return demo;
    }

    /// <summary>A TCP port free on 127.0.0.1 now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kills it (with its process tree) and waits for it to go.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // never started
        }
        _process.Dispose();
    }

    private void Seen(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        if (line.StartsWith(_readyLine, StringComparison.Ordinal)) _ready.TrySetResult();
    }
}
