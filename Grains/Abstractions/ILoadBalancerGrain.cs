using Orleans.Concurrency;

namespace Orchestrator.Grains;

/// <summary>
/// The job's expert-bias authority (key: the job id): each step, rank 0 brings the per-expert loads
/// summed over all ranks and takes back the biases every rank uses next (b_i += γ·sign(mean − load_i)).
/// It keeps the bias values and the MaxVio history for the job's observers. Fenced by the epoch.
/// </summary>
public interface ILoadBalancerGrain : IGrainWithStringKey
{
    /// <summary>Starts (or restarts, after a recovery) an epoch at <paramref name="step"/> with the ranks' biases.</summary>
    /// <exception cref="StaleEpochException">A newer epoch has begun.</exception>
    Task Begin(long epoch, long step, IReadOnlyList<float[]> biases);

    /// <summary>The biases after step <paramref name="step"/> (0-based), from that step's global loads.</summary>
    /// <exception cref="StaleEpochException">The caller is not of the current epoch.</exception>
    /// <exception cref="InvalidOperationException">The step is not the one the balancer expects next.</exception>
    Task<IReadOnlyList<float[]>> Update(long epoch, long step, IReadOnlyList<long[]> loads, double gamma);

    /// <summary>
    /// Whether the experts move after <see cref="ExpertPlacementRequest.Step"/>, decided from a window of the steps' loads
    /// (kept here, begun afresh with each epoch): the new map, or null to stay.
    /// </summary>
    /// <exception cref="StaleEpochException">The caller is not of the current epoch.</exception>
    Task<ExpertMapView?> Replace(long epoch, ExpertPlacementRequest request);

    /// <summary>Biases now and the recent MaxVio history.</summary>
    [AlwaysInterleave]
    Task<BalancerState> GetState();
}
