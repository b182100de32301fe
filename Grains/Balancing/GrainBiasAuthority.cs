using System.Diagnostics;
using Orchestrator.Kernels.Balancing;

namespace Orchestrator.Grains.Balancing;

/// <summary>
/// Rank 0's link to the job's <see cref="ILoadBalancerGrain"/>: one grain call per step, made from the
/// device thread (which the Orleans scheduler does not run), timed as the step's control-plane cost.
/// </summary>
internal sealed class GrainBiasAuthority(ILoadBalancerGrain balancer, long epoch) : IExpertBiasAuthority
{
    /// <summary>The last round trip to the balancer.</summary>
    public TimeSpan LastRoundTrip { get; private set; }

    /// <summary>Tells the balancer where this epoch starts: the step and biases the ranks begin from.</summary>
    public void Begin(long step, IReadOnlyList<float[]> biases) =>
        balancer.Begin(epoch, step, biases).GetAwaiter().GetResult();

    /// <inheritdoc />
    public float[][] Update(long step, IReadOnlyList<long[]> loads, double gamma, IReadOnlyList<float[]> biases)
    {
        var clock = Stopwatch.StartNew();
        var decided = balancer.Update(epoch, step, loads, gamma).GetAwaiter().GetResult();
        LastRoundTrip = clock.Elapsed;
        return decided.ToArray();
    }
}
