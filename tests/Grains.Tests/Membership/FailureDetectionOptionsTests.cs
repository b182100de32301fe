using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Membership;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Orchestrator.Grains.Tests.Membership;

/// <summary>Failure detection is bound from <c>Orchestrator:FailureDetection</c> onto Orleans' membership options, and a value that cannot work is refused at start by its key.</summary>
public sealed class FailureDetectionOptionsTests
{
    private static IHost Silo(Dictionary<string, string?> settings) =>
        Host.CreateDefaultBuilder()
            .ConfigureAppConfiguration(configuration => configuration.AddInMemoryCollection(settings))
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleans(silo => silo.UseLocalhostClustering().UseFailureDetection())
            .Build();

    [Fact]
    public void Defaults_ReachOrleansMembershipOptions()
    {
        using var host = Silo([]);
        var membership = host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(1), membership.ProbeTimeout);
        Assert.Equal(3, membership.NumMissedProbesLimit);
        Assert.Equal(2, membership.NumVotesForDeathDeclaration);
        Assert.Equal(TimeSpan.FromSeconds(5), membership.IAmAliveTablePublishTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), membership.TableRefreshTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), membership.DeathVoteExpirationTimeout);
    }

    [Fact]
    public void ConfiguredValues_ReachOrleansMembershipOptions()
    {
        using var host = Silo(new()
        {
            ["Orchestrator:FailureDetection:ProbeTimeout"] = "00:00:00.5",
            ["Orchestrator:FailureDetection:NumMissedProbesLimit"] = "4",
            ["Orchestrator:FailureDetection:NumVotesForDeathDeclaration"] = "1",
            ["Orchestrator:FailureDetection:IAmAliveTablePublishTimeout"] = "00:00:03",
            ["Orchestrator:FailureDetection:TableRefreshTimeout"] = "00:00:01",
            ["Orchestrator:FailureDetection:DeathVoteExpirationTimeout"] = "00:00:30",
        });
        var membership = host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromMilliseconds(500), membership.ProbeTimeout);
        Assert.Equal(4, membership.NumMissedProbesLimit);
        Assert.Equal(1, membership.NumVotesForDeathDeclaration);
        Assert.Equal(TimeSpan.FromSeconds(3), membership.IAmAliveTablePublishTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), membership.TableRefreshTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), membership.DeathVoteExpirationTimeout);
    }

    [Theory]
    [InlineData("ProbeTimeout", "00:00:00")]
    [InlineData("TableRefreshTimeout", "-00:00:01")]
    [InlineData("DeathVoteExpirationTimeout", "00:00:00")]
    [InlineData("NumMissedProbesLimit", "0")]
    [InlineData("NumVotesForDeathDeclaration", "0")]
    public async Task AValueThatCannotWork_StopsTheSiloAtStartNamingTheKey(string name, string value)
    {
        var key = $"{FailureDetectionOptions.Section}:{name}";
        using var host = Silo(new() { [key] = value });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(timeout.Token));
        Assert.Contains(key, refused.ToString(), StringComparison.Ordinal);
    }
}
