namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The job grain's timings, bound from configuration section <see cref="Section"/> (e.g.
/// <c>Orchestrator__Jobs__ReplanPeriod=00:00:02</c>). The defaults are the values the soak runs were tuned with.
/// <code>
/// Orchestrator:Jobs:NodeLossGrace     00:00:00.2  wait after a membership death before the first re-plan
/// Orchestrator:Jobs:RankFailureGrace  00:00:03    wait after a rank failure before the first re-plan
/// Orchestrator:Jobs:ReplanPeriod      00:00:01    period of the re-plan timer while recovering
/// Orchestrator:Jobs:QuietBeforeCheck  00:00:02    quiet time before a status read checks the index
/// Orchestrator:Jobs:WatchPeriod       00:00:05    period of the watch timer
/// Orchestrator:Jobs:AskRanksAfter     00:00:10    quiet time before the watch asks the ranks how they ended
/// Orchestrator:Jobs:AskTimeout        00:00:05    how long the watch waits for one rank's answer
/// </code>
/// </summary>
public sealed class JobTimingOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string Section = "Orchestrator:Jobs";

    /// <summary>After a membership death: the node is already out of the cluster's view, so re-plan almost at once.</summary>
    public TimeSpan NodeLossGrace { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>After a rank failure: time for membership to declare a dying node dead before planning around it.</summary>
    public TimeSpan RankFailureGrace { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often a recovering job tries to re-plan.</summary>
    public TimeSpan ReplanPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long without a report, a move or a check before a status read checks the index again.</summary>
    public TimeSpan QuietBeforeCheck { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the watch looks at a running job.</summary>
    public TimeSpan WatchPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Quiet time after which the watch asks the ranks how their run ended.</summary>
    public TimeSpan AskRanksAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one rank may take to answer the watch before it is skipped (its node is dying: membership reports that).</summary>
    public TimeSpan AskTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Refuses a timing that cannot work (zero or negative periods; a negative grace), naming it.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(ReplanPeriod), ReplanPeriod), (nameof(WatchPeriod), WatchPeriod), (nameof(AskTimeout), AskTimeout), (nameof(AskRanksAfter), AskRanksAfter) })
        {
            if (value <= TimeSpan.Zero) throw new ArgumentException($"{Section}:{name} must be greater than 0 (got {value})");
        }

        foreach (var (name, value) in new[] { (nameof(NodeLossGrace), NodeLossGrace), (nameof(RankFailureGrace), RankFailureGrace), (nameof(QuietBeforeCheck), QuietBeforeCheck) })
        {
            if (value < TimeSpan.Zero) throw new ArgumentException($"{Section}:{name} must not be negative (got {value})");
        }
    }
}
