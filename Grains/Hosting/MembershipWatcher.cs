using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Resilience;
using Orleans.Runtime;

namespace Orchestrator.Grains.Hosting;

/// <summary>
/// Watches Orleans membership on this silo and tells the cluster grain when a silo dies. Every silo runs
/// one, so a death is reported even when the cluster grain's own silo is the one that died; the cluster
/// grain ignores repeats.
/// </summary>
public sealed partial class MembershipWatcher(
    IClusterMembershipService membership, IGrainFactory grains, NodeRegistrar registrar, IOptions<MembershipWatcherOptions> options,
    ILogger<MembershipWatcher> logger)
    : BackgroundService
{

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await registrar.Registered.WaitAsync(stoppingToken);
        var reported = new HashSet<SiloAddress>();
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
        {
            foreach (var member in snapshot.Members.Values)
            {
                if (member.Status != SiloStatus.Dead || !reported.Add(member.SiloAddress)) continue;
                LogSiloDead(member.Name, member.SiloAddress.ToString());
                await ReportAsync(member, stoppingToken);
            }
        }
    }

    private async Task ReportAsync(ClusterMember member, CancellationToken stoppingToken)
    {
        // The cluster grain may have lived on the silo that died; the next call reactivates it.
        var retry = new Retry(options.Value.NodeDownRetry, e => e is not OperationCanceledException, (e, attempt, _) => LogRetry(e, member.Name, attempt));
        try
        {
            await retry.RunAsync(() => grains.GetGrain<IClusterGrain>(IClusterGrain.Key).NodeDown(member.Name, member.SiloAddress.ToParsableString()), stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Every silo reports the death; this one giving up must not end the watcher (nor, with it, the host).
            LogGaveUp(e, member.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo of node {Node} ({Silo}) is dead")]
    private partial void LogSiloDead(string node, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting node {Node} down failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, string node, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reporting node {Node} down failed; the other silos' reports remain")]
    private partial void LogGaveUp(Exception exception, string node);
}
