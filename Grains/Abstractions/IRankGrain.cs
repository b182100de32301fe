namespace Orchestrator.Grains;

/// <summary>
/// One rank of one epoch of a job, pinned to the node that owns its device. Its key is
/// <see cref="RankKey"/>: <c>job/epoch/rank@node</c>.
/// </summary>
public interface IRankGrain : IGrainWithStringKey
{
    /// <summary>Starts training on the rank's device executor and returns at once.</summary>
    /// <exception cref="StaleEpochException">The call carries another epoch than the key's.</exception>
    Task Start(long epoch, RankStart start);

    /// <summary>
    /// Starts every rank of this rank's node in <paramref name="start"/>'s plan (this one included) and returns once
    /// each has queued its run; the receiver must be the node's first rank. The first failure fails the call.
    /// </summary>
    /// <exception cref="StaleEpochException">The call carries another epoch than the key's.</exception>
    /// <exception cref="ArgumentException">The receiver is not the first rank of its node in the plan.</exception>
    Task StartNode(long epoch, NodeStart start);

    /// <summary>Asks the rank to stop at its next step boundary; returns at once.</summary>
    /// <exception cref="StaleEpochException">The call carries another epoch than the key's.</exception>
    Task Stop(long epoch);

    /// <summary>
    /// Delivers a peer rank's collective message into this rank's mailbox. Interleaves with every
    /// other call: it only stores, and the rank's executor thread may be waiting for it.
    /// </summary>
    /// <exception cref="StaleEpochException">The call carries another epoch than the key's.</exception>
    [Orleans.Concurrency.AlwaysInterleave]
    Task Deliver(long epoch, CollectivePayload message);

    /// <summary>The node the rank runs on, as its silo names itself (tests check placement with it).</summary>
    Task<string> GetSiloName();

    /// <summary>
    /// How the rank's run ended, or null while it runs (or never started here). The job asks when it has
    /// heard nothing for a while: a rank's last report can be lost (its job grain's silo died, and the
    /// report's retries ran out), and the rank does not send it twice.
    /// </summary>
    /// <exception cref="StaleEpochException">The call carries another epoch than the key's.</exception>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<RankOutcome?> GetOutcome(long epoch);
}
