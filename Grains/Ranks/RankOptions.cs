using Orchestrator.Grains.Resilience;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The timings of a rank's run (configuration section <c>Orchestrator:Ranks</c>): its reports' retries,
/// how long it waits for peers, for the NCCL id and for its device thread.
/// </summary>
public sealed class RankOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string Section = "Orchestrator:Ranks";

    /// <summary>
    /// Retries of a step report or checkpoint vote the job could not take (the index restarting, the job
    /// grain moving): 250 ms doubling to 4 s for 60 s, then the report is dropped (every report is idempotent).
    /// </summary>
    public BackoffOptions ReportRetry { get; set; } = new() { FirstRetry = TimeSpan.FromMilliseconds(250), LastRetry = TimeSpan.FromSeconds(4), Patience = TimeSpan.FromSeconds(60) };

    /// <summary>
    /// How long a silo gathers the step reports of its ranks other than rank 0 into one call to the job
    /// (<see cref="StepReportBatcher"/>): 20 ms, well under a step; zero sends each report alone. Rank 0's report (the
    /// job's step) and a rank's first report of an epoch (its readiness, for the resumed event) always go alone.
    /// </summary>
    public TimeSpan ReportBatchWindow { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How long a checkpoint vote waits for its step's report before it goes anyway.</summary>
    public TimeSpan ReportWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a collective over grain calls waits for a peer before it fails (a dead peer's silo never answers).</summary>
    public TimeSpan PeerTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long a rank waits for its group's first rank to publish the NCCL id before it fails (as retryable).</summary>
    public TimeSpan NcclIdTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>The longest one long poll of the NCCL rendezvous waits (it must stay under Orleans' response timeout).</summary>
    public TimeSpan NcclIdPoll { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a peer's abort message is given to arrive before the aborting rank goes on.</summary>
    public TimeSpan AbortNoticeWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the silo waits for a device thread to finish its work when it shuts down.</summary>
    public TimeSpan DeviceStopWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Refuses settings that cannot work, naming the setting.</summary>
    public void Validate()
    {
        ReportRetry.Validate($"{Section}:ReportRetry");
        if (ReportBatchWindow < TimeSpan.Zero || ReportBatchWindow > TimeSpan.FromSeconds(1))
            throw new ArgumentException($"{Section}:ReportBatchWindow must be from 0 (no batching) to 1 s (got {ReportBatchWindow})");
        Positive(ReportWait, nameof(ReportWait));
        Positive(PeerTimeout, nameof(PeerTimeout));
        Positive(NcclIdTimeout, nameof(NcclIdTimeout));
        Positive(NcclIdPoll, nameof(NcclIdPoll));
        if (NcclIdPoll > DataPlane.NcclRendezvousGrain.MaxWait)
            throw new ArgumentException($"{Section}:NcclIdPoll must be at most {DataPlane.NcclRendezvousGrain.MaxWait.TotalSeconds:F0} s, under Orleans' 30 s response timeout (got {NcclIdPoll})");
        Positive(AbortNoticeWait, nameof(AbortNoticeWait));
        Positive(DeviceStopWait, nameof(DeviceStopWait));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero) throw new ArgumentException($"{Section}:{name} must be greater than 0 (got {value})");
    }
}
