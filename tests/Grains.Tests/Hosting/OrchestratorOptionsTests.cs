using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Hosting;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Ranks;

namespace Orchestrator.Grains.Tests.Hosting;

/// <summary>The timings are options bound from configuration, with the documented defaults, and a setting that cannot work is refused by name.</summary>
public sealed class OrchestratorOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddOrchestratorOptions().BuildServiceProvider();
    }

    [Fact]
    public void Defaults_AreTheDocumentedOnes()
    {
        using var services = Build([]);
        var ranks = services.GetRequiredService<IOptions<RankOptions>>().Value;
        Assert.Equal(TimeSpan.FromMilliseconds(250), ranks.ReportRetry.FirstRetry);
        Assert.Equal(TimeSpan.FromSeconds(4), ranks.ReportRetry.LastRetry);
        Assert.Equal(TimeSpan.FromSeconds(60), ranks.ReportRetry.Patience);
        Assert.Equal(TimeSpan.FromSeconds(2), ranks.ReportWait);
        Assert.Equal(TimeSpan.FromMilliseconds(20), ranks.ReportBatchWindow);
        Assert.Equal(TimeSpan.FromSeconds(120), ranks.PeerTimeout);
        Assert.Equal(TimeSpan.FromSeconds(120), ranks.NcclIdTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), ranks.NcclIdPoll);
        var jobs = services.GetRequiredService<IOptions<JobTimingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(3), jobs.RankFailureGrace);
        var commits = services.GetRequiredService<IOptions<CheckpointCommitOptions>>().Value;
        Assert.Null(commits.CommitRetry.Patience);
        Assert.Null(commits.CommitRetry.MaxAttempts);
    }

    [Fact]
    public void Settings_AreBoundFromTheirSections()
    {
        using var services = Build(new()
        {
            ["Orchestrator:Ranks:PeerTimeout"] = "00:00:07",
            ["Orchestrator:Ranks:ReportRetry:Patience"] = "00:00:09",
            ["Orchestrator:Jobs:ReplanPeriod"] = "00:00:03",
            ["Orchestrator:Membership:NodeDownRetry:MaxAttempts"] = "2",
        });
        Assert.Equal(TimeSpan.FromSeconds(7), services.GetRequiredService<IOptions<RankOptions>>().Value.PeerTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), services.GetRequiredService<IOptions<RankOptions>>().Value.ReportRetry.Patience);
        Assert.Equal(TimeSpan.FromSeconds(3), services.GetRequiredService<IOptions<JobTimingOptions>>().Value.ReplanPeriod);
        Assert.Equal(2, services.GetRequiredService<IOptions<MembershipWatcherOptions>>().Value.NodeDownRetry.MaxAttempts);
    }

    [Theory]
    [InlineData("Orchestrator:Ranks:PeerTimeout", "00:00:00", "Orchestrator:Ranks:PeerTimeout")]
    [InlineData("Orchestrator:Ranks:NcclIdPoll", "00:00:40", "Orchestrator:Ranks:NcclIdPoll")]
    [InlineData("Orchestrator:Ranks:ReportBatchWindow", "00:00:02", "Orchestrator:Ranks:ReportBatchWindow")]
    [InlineData("Orchestrator:Ranks:ReportBatchWindow", "-00:00:00.010", "Orchestrator:Ranks:ReportBatchWindow")]
    [InlineData("Orchestrator:Ranks:ReportRetry:FirstRetry", "-00:00:01", "Orchestrator:Ranks:ReportRetry:FirstRetry")]
    [InlineData("Orchestrator:Checkpoints:CommitRetry:MaxAttempts", "0", "Orchestrator:Checkpoints:CommitRetry:MaxAttempts")]
    public void ASettingThatCannotWork_IsRefusedByName(string key, string value, string named)
    {
        using var services = Build(new() { [key] = value });
        var refused = Assert.ThrowsAny<Exception>(() =>
        {
            _ = services.GetRequiredService<IOptions<RankOptions>>().Value;
            _ = services.GetRequiredService<IOptions<CheckpointCommitOptions>>().Value;
        });
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }
}
