using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Membership;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Polly;
using Polly.Retry;
using Serilog;

namespace Orchestrator.Silo.Cluster;

/// <summary>
/// An Orleans client connected to a cluster through the gateway list in PostgreSQL. A silo that has just died
/// stays in that list until membership declares it dead (seconds): connecting tries again, and
/// <see cref="CallAsync{T}"/> retries a call that such a silo refused or never answered.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    /// <summary>How long one attempt of a retried call may take before it is tried again.</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connection attempts before giving up (a second apart).</summary>
    private const int ConnectAttempts = 8;

    /// <summary>
    /// Retries of calls refused by, or lost with, a dying silo (Polly): 250 ms doubling to 2 s, eight times —
    /// past the failure detector's few seconds, after which the call reaches the grain's new activation.
    /// </summary>
    private static readonly ResiliencePipeline Retries = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<OrleansMessageRejectionException>().Handle<TimeoutException>(),
            MaxRetryAttempts = 8,
            Delay = TimeSpan.FromMilliseconds(250),
            MaxDelay = TimeSpan.FromSeconds(2),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = retry =>
            {
                Log.Debug("a cluster call failed ({Reason}); retry {Attempt}", retry.Outcome.Exception?.Message, retry.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

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
                if (++attempts >= ConnectAttempts || cancellation.IsCancellationRequested) return false;
                Log.Debug("connecting to cluster {Cluster} failed ({Reason}); attempt {Attempt} of {Attempts}", clusterId, error.Message, attempts + 1, ConnectAttempts);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
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

        return new ClusterConnection(host);
    }

    /// <summary>
    /// Makes an idempotent call (a read, a cancel), retrying it while a dying silo refuses it or leaves it
    /// unanswered; each attempt is given <see cref="AttemptTimeout"/>. Not for a submission: a retry after a
    /// lost answer would find the job it had created.
    /// </summary>
    public Task<T> CallAsync<T>(Func<IClusterClient, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return Retries.ExecuteAsync(
            async token => await call(Client).WaitAsync(AttemptTimeout, token), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
