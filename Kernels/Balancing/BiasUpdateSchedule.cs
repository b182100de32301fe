namespace Orchestrator.Kernels.Balancing;

/// <summary>γ over training: <paramref name="Speed"/> until <paramref name="FreezeStep"/>, then 0 (V3: 0.001, then 0 for the last 500B tokens).</summary>
/// <param name="Speed">Bias update speed γ.</param>
/// <param name="FreezeStep">First step (0-based) with γ = 0; 0 means never.</param>
public sealed record BiasUpdateSchedule(double Speed, long FreezeStep)
{
    /// <summary>γ to apply after step <paramref name="step"/> (0-based).</summary>
    public double GammaAt(long step) => FreezeStep > 0 && step >= FreezeStep ? 0 : Speed;
}
