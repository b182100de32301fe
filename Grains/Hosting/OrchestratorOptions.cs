using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Jobs;
using Orchestrator.Grains.Ranks;

namespace Orchestrator.Grains.Hosting;

/// <summary>
/// Registers every timing of the control plane as an option bound from configuration (appsettings.json's
/// <c>Orchestrator</c> section or <c>ORCHESTRATOR__…</c> environment variables), one options class per
/// concern, each with today's defaults; a setting that cannot work stops the silo at start naming it.
/// The README's configuration table lists them.
/// </summary>
public static class OrchestratorOptions
{
    /// <summary>Adds the options classes of the grains' concerns.</summary>
    public static IServiceCollection AddOrchestratorOptions(this IServiceCollection services)
    {
        services.AddOptions<JobTimingOptions>().BindConfiguration(JobTimingOptions.Section)
            .Validate(o => Valid(() => o.Validate()), JobTimingOptions.Section).ValidateOnStart();
        services.AddOptions<CheckpointCommitOptions>().BindConfiguration(CheckpointCommitOptions.Section)
            .Validate(o => Valid(() => o.CommitRetry.Validate($"{CheckpointCommitOptions.Section}:CommitRetry"))).ValidateOnStart();
        services.AddOptions<MembershipWatcherOptions>().BindConfiguration(MembershipWatcherOptions.Section)
            .Validate(o => Valid(() => o.NodeDownRetry.Validate($"{MembershipWatcherOptions.Section}:NodeDownRetry"))).ValidateOnStart();
        services.AddOptions<RankOptions>().BindConfiguration(RankOptions.Section)
            .Validate(o => Valid(() => o.Validate()), RankOptions.Section).ValidateOnStart();
        return services;
    }

    // Validate throws naming the setting; the options pipeline only needs to hear that it passed.
    private static bool Valid(Action validate)
    {
        validate();
        return true;
    }
}
