using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Membership;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Microsoft.Extensions.Configuration;
using Orchestrator.Grains.Resilience;
using Serilog;

namespace Orchestrator.Silo.Cluster;

/// <summary>
/// An Orleans client connected to a cluster through the gateway list in PostgreSQL. A silo that has just died
/// stays in that list until membership declares it dead (seconds): connecting tries again, and
/// <see cref="CallAsync{T}"/> retries a call that such a silo refused or never answered.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly ClientOptions _options;
    private readonly Retry _calls;

    private ClusterConnection(IHost host, ClientOptions options)
    {
        _host = host;
        _options = options;
        _calls = new Retry(options.CallRetry, e => e is OrleansMessageRejectionException or TimeoutException,
            (e, attempt, _) => Log.Debug("a cluster call failed ({Reason}); retry {Attempt}", e.Message, attempt));
    }

    /// <summary>The client's grain factory.</summary>
    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>Connects; fails with a clear message when no silo answers.</summary>
    public static async Task<ClusterConnection> OpenAsync(string postgres, string clusterId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(postgres))
            throw new ArgumentException("--postgres (or ORCHESTRATOR__POSTGRES) is required: the connection string of the cluster's database");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(Log.Logger, dispose: false);
        var options = (builder.Configuration.GetSection(ClientOptions.Section).Get<ClientOptions>() ?? new ClientOptions()).Validated();
        var attempts = 0;
        builder.UseOrleansClient(client => client
            .UsePostgresClustering(o => o.ConnectionString = postgres)
            .Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = "orchestrator";
            })
            .UseConnectionRetryFilter(async (error, cancellation) =>
            {
                // The first gateway tried may be a silo that died a moment ago: the next attempt takes another.
                // Orleans owns this loop (its retry filter); the waits and the limit are the options'.
                if (!options.ConnectRetry.Allows(attempts, TimeSpan.Zero) || cancellation.IsCancellationRequested) return false;
                Log.Debug("connecting to cluster {Cluster} failed ({Reason}); attempt {Attempt}", clusterId, error.Message, attempts + 2);
                await Task.Delay(options.ConnectRetry.DelayAfter(attempts++), cancellation);
                return true;
            }));
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new IOException($"cannot reach cluster '{clusterId}' through the database: {e.Message}", e);
        }

        return new ClusterConnection(host, options);
    }

    /// <summary>
    /// Makes an idempotent call (a read, a cancel), retrying it while a dying silo refuses it or leaves it
    /// unanswered; each attempt is given <see cref="ClientOptions.CallAttemptTimeout"/>. Not for a submission: a retry after a
    /// lost answer would find the job it had created.
    /// </summary>
    public Task<T> CallAsync<T>(Func<IClusterClient, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _calls.RunAsync(_ => call(Client).WaitAsync(_options.CallAttemptTimeout, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
