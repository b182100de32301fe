using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Orchestrator.Grains.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster for the test run: initdb into a temp folder, pg_ctl on a free loopback
/// port with fsync off, one database per test class, everything stopped and removed on dispose.
/// </summary>
/// <remarks>
/// The server refuses to run as root, so as root every PostgreSQL binary runs as the <c>postgres</c>
/// user through <c>runuser</c> (deploy/test.sh installs the package, which creates that user).
/// </remarks>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly Dictionary<string, string> _databases = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _databasesLock = new(1, 1);
    private string _bin = string.Empty;
    private string _dataDirectory = string.Empty;
    private int _port;

    /// <summary>Connection string to the server's <c>postgres</c> database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _bin = FindBinaries();
        _dataDirectory = Directory.CreateTempSubdirectory("orchestrator-pg-").FullName;
        if (RunningAsRoot)
        {
            await RunAsync("chown", ["postgres:postgres", _dataDirectory], asPostgres: false);
        }

        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", _dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], asPostgres: true);
        _port = FreeLoopbackPort();
        await StartAsync();
    }

    /// <summary>Stops the server (fast shutdown: clients are disconnected), as an outage would.</summary>
    public Task StopAsync() =>
        RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", _dataDirectory, "-m", "fast", "-w", "stop"], asPostgres: true);

    /// <summary>Starts the server (again) on its port and data directory.</summary>
    public Task StartAsync()
    {
        var serverOptions = $"-p {_port} -k {_dataDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
        return RunAsync(
            Path.Combine(_bin, "pg_ctl"),
            ["-D", _dataDirectory, "-l", Path.Combine(_dataDirectory, "server.log"), "-o", serverOptions, "-w", "-t", "60", "start"],
            asPostgres: true);
    }

    /// <summary>A database of its own for one test class (created on first ask, the same string after);
    /// <paramref name="purpose"/> gives the class more than one.</summary>
    public async Task<string> DatabaseForAsync(Type testClass, string purpose = "")
    {
        var name = "t_" + new string((testClass.Name + purpose).ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray());
        await _databasesLock.WaitAsync();
        try
        {
            if (!_databases.TryGetValue(name, out var connectionString))
            {
                await using var admin = new NpgsqlConnection(AdminConnectionString);
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
                await create.ExecuteNonQueryAsync();
                _databases[name] = connectionString = ConnectionString(name);
            }

            return connectionString;
        }
        finally
        {
            _databasesLock.Release();
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_port != 0)
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], asPostgres: true);
        }

        if (_dataDirectory.Length > 0 && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }

        _databasesLock.Dispose();
    }

    private static bool RunningAsRoot => Environment.UserName == "root";

    private string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = _port,
            Username = "postgres",
            Database = database,
            Pooling = true,
            MaxPoolSize = 20,
        }.ToString();

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/initdb (deploy/test.sh installs the 'postgresql' package)");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres && RunningAsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = program;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");

        // Drain both pipes while waiting, so that a chatty initdb cannot fill one and stall; the exit code
        // decides. The server that pg_ctl starts writes to its log file, not to these pipes.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            var output = await Task.WhenAll(stdout, stderr).WaitAsync(TimeSpan.FromSeconds(5));
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {output[1]} {output[0]}");
        }
    }
}
