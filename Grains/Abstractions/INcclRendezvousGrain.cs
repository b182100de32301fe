namespace Orchestrator.Grains;

/// <summary>
/// Where the ranks of one epoch of a job (key: the job id) meet to form their NCCL communicators: the
/// first rank of each process group publishes that group's unique id, the others fetch it (as torch's
/// rendezvous does through its TCP store). Groups are numbered as the ranks number them (0: every rank
/// of the job; then the EP groups; then the replica groups). Fenced by the epoch: the grain follows the
/// newest epoch it has seen (by a publish or a fetch), and a call of an older epoch is refused, so a
/// stale epoch's id is never handed out.
/// </summary>
public interface INcclRendezvousGrain : IGrainWithStringKey
{
    /// <summary>Publishes the unique id of <paramref name="group"/>'s communicator in <paramref name="epoch"/> and wakes the ranks waiting for it.</summary>
    /// <exception cref="StaleEpochException">The grain has seen a newer epoch.</exception>
    /// <exception cref="ArgumentException">The id is not an NCCL unique id (128 bytes), or the group already has another id in this epoch.</exception>
    Task Publish(long epoch, int group, byte[] uniqueId);

    /// <summary>
    /// The unique id of <paramref name="group"/>'s communicator in <paramref name="epoch"/>; waits up to
    /// <paramref name="wait"/> (at most 20 s, under the grain call timeout) for it to be published, then
    /// answers null (the caller asks again until its own deadline).
    /// </summary>
    /// <exception cref="StaleEpochException">The grain has seen a newer epoch, before or while waiting.</exception>
    Task<byte[]?> Fetch(long epoch, int group, TimeSpan wait);
}
