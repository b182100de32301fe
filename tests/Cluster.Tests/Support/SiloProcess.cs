using System.Diagnostics;
using System.Globalization;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>A real <c>orchestrator silo</c> in a child process, so that a test can kill it by pid.</summary>
public sealed class SiloProcess : IDisposable
{
    /// <summary>How many of the silo's last log lines are kept for a failing test to print.</summary>
    private const int TailLines = 400;

    private readonly Process _process;
    private readonly Queue<string> _tail;

    private SiloProcess(Process process, string node, Queue<string> tail)
    {
        _process = process;
        Node = node;
        _tail = tail;
    }

    /// <summary>The node name the silo serves.</summary>
    public string Node { get; }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Starts the silo and waits for its "joined" line.</summary>
    public static async Task<SiloProcess> StartAsync(
        string postgres, string clusterId, string node, string devices, int siloPort, int gatewayPort, string storage, CancellationToken cancellationToken,
        IReadOnlyList<string>? extraArguments = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "orchestrator.dll"), "silo", "--node", node, "--devices", devices,
            "--postgres", postgres, "--cluster-id", clusterId, "--storage", storage,
            "--silo-port", siloPort.ToString(CultureInfo.InvariantCulture), "--gateway-port", gatewayPort.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var argument in extraArguments ?? []) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.Environment.Remove("ORCHESTRATOR_LIBTORCH");
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the silo process");
        var logs = Environment.GetEnvironmentVariable("ORCHESTRATOR_TEST_LOGS");
        var log = logs is null ? null : Path.Combine(logs, $"{node}-{process.Id}.log");
        var tail = new Queue<string>();
        _ = Drain(process.StandardError, log, tail);
        try
        {
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(cancellationToken)
                    ?? throw new InvalidOperationException($"silo {node} exited with {(process.WaitForExit(5000) ? process.ExitCode : -1)} before joining");
                if (line.StartsWith($"silo {node} joined", StringComparison.Ordinal)) break;
            }

            // Keep draining standard output so that the child never blocks on a full pipe
            // (into $ORCHESTRATOR_TEST_LOGS/<node>-<pid>.log when that is set, for diagnosis).
            _ = Drain(process.StandardOutput, log, tail);
            return new SiloProcess(process, node, tail);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The silo's last log lines (both streams, interleaved as they came), for a failing test to print.</summary>
    public string Tail()
    {
        lock (_tail) return $"--- {Node} (pid {_process.Id}), last {_tail.Count} lines ---{Environment.NewLine}{string.Join(Environment.NewLine, _tail)}";
    }

    /// <summary>Writes the tails of <paramref name="silos"/> to a test's output (call it when the test fails: CI keeps no other log).</summary>
    public static void WriteTails(Action<string> output, IEnumerable<SiloProcess?> silos)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var silo in silos.OfType<SiloProcess>()) output(silo.Tail());
    }

    private static async Task Drain(StreamReader reader, string? log, Queue<string> tail)
    {
        if (log is not null) Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lock (tail)
            {
                tail.Enqueue(line);
                while (tail.Count > TailLines) tail.Dequeue();
            }

            if (log is not null)
            {
                lock (Gate) File.AppendAllText(log, line + Environment.NewLine);
            }
        }
    }

    private static readonly object Gate = new();

    /// <summary>SIGKILL: no shutdown, no goodbye in the membership table.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
