namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// Decides the expert biases after a step from the step's global loads. The trainer asks it once per
/// step with the biases it holds; it returns the biases every rank must hold for the next step.
/// </summary>
public interface IExpertBiasAuthority
{
    /// <summary>
    /// The biases after step <paramref name="step"/> (0-based), per MoE layer, given that step's loads
    /// summed over the whole job, the update speed γ and the biases used in the step.
    /// </summary>
    float[][] Update(long step, IReadOnlyList<long[]> loads, double gamma, IReadOnlyList<float[]> biases);
}
