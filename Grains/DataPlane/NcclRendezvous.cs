using System.Diagnostics;
using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.DataPlane;

/// <summary>The ranks' side of <see cref="INcclRendezvousGrain"/>: fetching the epoch's id with a deadline.</summary>
public static class NcclRendezvous
{
    /// <summary>
    /// Waits for the id of <paramref name="group"/>'s communicator in <paramref name="epoch"/>: long polls of the grain (each at most <paramref name="poll"/>, so no call
    /// nears Orleans' response timeout), never a busy loop.
    /// </summary>
    /// <exception cref="TimeoutException">Nothing was published within <paramref name="timeout"/>.</exception>
    /// <exception cref="CollectiveAbortedException"><paramref name="stop"/> was cancelled (the rank was stopped).</exception>
    /// <exception cref="StaleEpochException">The job moved to a newer epoch.</exception>
    public static async Task<byte[]> FetchAsync(INcclRendezvousGrain rendezvous, long epoch, int group, TimeSpan timeout, TimeSpan poll, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(rendezvous);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"no NCCL id for group {group} of epoch {epoch} after {timeout.TotalSeconds:F0} s: its first rank did not publish it");
            if (stop.IsCancellationRequested) throw new CollectiveAbortedException("stopped while waiting for the NCCL id");
            byte[]? id;
            try
            {
                id = await rendezvous.Fetch(epoch, group, left < poll ? left : poll).WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                throw new CollectiveAbortedException("stopped while waiting for the NCCL id");
            }
            if (id is not null) return id;
        }
    }
}
