using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Orchestrator.Grains.Hosting;

/// <summary>
/// Watches Orleans membership on this silo and tells the cluster grain when a silo dies. Every silo runs
/// one, so a death is reported even when the cluster grain's own silo is the one that died; the cluster
/// grain ignores repeats.
/// </summary>
public sealed partial class MembershipWatcher(
    IClusterMembershipService membership, IGrainFactory grains, NodeRegistrar registrar, ILogger<MembershipWatcher> logger)
    : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private const int Attempts = 5;

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
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                await grains.GetGrain<IClusterGrain>(IClusterGrain.Key).NodeDown(member.Name, member.SiloAddress.ToParsableString());
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < Attempts)
            {
                // The cluster grain may have lived on the silo that died; the next call reactivates it.
                LogRetry(e, member.Name, attempt);
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo of node {Node} ({Silo}) is dead")]
    private partial void LogSiloDead(string node, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting node {Node} down failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, string node, int attempt);
}
