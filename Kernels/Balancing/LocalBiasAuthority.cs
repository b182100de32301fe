namespace Orchestrator.Kernels.Balancing;

/// <summary>The bias update computed where it is needed: b_i += γ·sign(mean − load_i) (<see cref="ExpertBalance"/>).</summary>
public sealed class LocalBiasAuthority : IExpertBiasAuthority
{
    /// <summary>The one instance (it has no state).</summary>
    public static readonly LocalBiasAuthority Instance = new();

    private LocalBiasAuthority()
    {
    }

    /// <inheritdoc />
    public float[][] Update(long step, IReadOnlyList<long[]> loads, double gamma, IReadOnlyList<float[]> biases)
    {
        ArgumentNullException.ThrowIfNull(loads);
        ArgumentNullException.ThrowIfNull(biases);
        if (loads.Count != biases.Count)
            throw new ArgumentException($"loads cover {loads.Count} MoE layers but biases cover {biases.Count}", nameof(loads));
        var updated = new float[biases.Count][];
        for (var layer = 0; layer < biases.Count; layer++)
        {
            updated[layer] = (float[])biases[layer].Clone();
            ExpertBalance.UpdateBias(updated[layer], loads[layer], gamma);
        }
        return updated;
    }
}
