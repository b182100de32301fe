namespace Orchestrator.Grains.Membership;

/// <summary>
/// How fast a silo that stops answering is declared dead, and how much slowness is forgiven first.
/// The defaults aim at: a killed silo declared dead within 5 s on loopback, with no false evictions
/// on a loaded 2-core machine. Bound from configuration section <see cref="Section"/> (e.g.
/// <c>ORCHESTRATOR__FAILUREDETECTION__PROBETIMEOUT=00:00:00.5</c>) and copied onto Orleans'
/// <c>ClusterMembershipOptions</c> by <see cref="PostgresClusteringExtensions.UseFailureDetection"/>;
/// <c>deploy/local-cluster.sh</c> sets a faster loopback profile.
/// </summary>
/// <remarks>
/// Measured here (ENVIRONMENT.md): with Orleans' defaults a kill -9 of one of two silos is declared
/// after 12.0 s; with a 1 s probe, 2 missed probes and 1 vote, after 1.1 s. A killed process refuses
/// connections at once, so on loopback a probe to it fails well before its timeout, and detection time
/// is roughly the missed-probe limit times the probe period. The 1 s / 2 probes setting risks false
/// suspicion when a build or a training step starves a 2-core machine for a second; one more missed
/// probe (3) costs about a second of detection and makes a false eviction need three consecutive
/// starved probe periods, not two.
/// </remarks>
public sealed class FailureDetectionOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "Orchestrator:FailureDetection";

    /// <summary>
    /// The probe period and initial probe timeout. Default 1 s: with <see cref="NumMissedProbesLimit"/> 3
    /// a dead silo is suspected after about 3 s, leaving 2 s of the 5 s budget for the death vote and the
    /// table write. Orleans adapts the effective timeout per peer between half and four times this value
    /// and extends it while the local silo itself is degraded, which is what protects a busy machine.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes before a silo is suspected. Default 3 (not 2): see the type's remarks.</summary>
    public int NumMissedProbesLimit { get; set; } = 3;

    /// <summary>
    /// Votes needed to declare a suspected silo dead. Default 2, Orleans' own: with three or more silos one
    /// starved prober cannot evict a healthy peer alone. A two-silo cluster still converges (measured: the
    /// default setting declared the killed one of two silos dead), since no more votes than there are other
    /// live silos are required.
    /// </summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>
    /// How often each silo writes its heartbeat to the table. Default 5 s (Orleans: 30 s): heartbeats mark
    /// stale rows, and the dashboard shows them; one cheap UPDATE per silo every 5 s.
    /// </summary>
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often each silo re-reads the whole table. Default 2 s (Orleans: 60 s): gossip normally spreads a
    /// death at once, and this bounds how late a silo that missed the gossip learns of it; one small
    /// SELECT per silo every 2 s.
    /// </summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a suspicion (a death vote) written to the table counts. Default 2 min, Orleans' own: votes older
    /// than this are ignored, so slow probers cannot add up stale suspicions of a healthy silo into a verdict.
    /// </summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Checks the values make sense together.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        foreach (var (name, value) in new[]
        {
            (nameof(ProbeTimeout), ProbeTimeout), (nameof(IAmAliveTablePublishTimeout), IAmAliveTablePublishTimeout),
            (nameof(TableRefreshTimeout), TableRefreshTimeout), (nameof(DeathVoteExpirationTimeout), DeathVoteExpirationTimeout),
        })
        {
            if (value <= TimeSpan.Zero) throw new ArgumentException($"{Section}:{name} must be greater than 0 (got {value})");
        }

        foreach (var (name, value) in new[] { (nameof(NumMissedProbesLimit), NumMissedProbesLimit), (nameof(NumVotesForDeathDeclaration), NumVotesForDeathDeclaration) })
        {
            if (value < 1) throw new ArgumentException($"{Section}:{name} must be at least 1 (got {value})");
        }
    }
}
