using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>The experts chosen for N tokens and their gate values.</summary>
/// <param name="Experts">[N, k] routed-expert indices (int64).</param>
/// <param name="Gates">[N, k] gate values: unbiased affinities of the chosen experts, normalised over them, times route_scale.</param>
/// <param name="Scores">[N, E] affinities s_i,t (before the bias), used by the balance loss.</param>
public sealed record RouteDecision(Tensor Experts, Tensor Gates, Tensor Scores) : IDisposable
{
    public void Dispose()
    {
        Experts.Dispose();
        Gates.Dispose();
        Scores.Dispose();
    }
}
