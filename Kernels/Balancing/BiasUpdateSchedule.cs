using Orchestrator.Kernels.Configuration;

namespace Orchestrator.Kernels.Balancing;

/// <summary>
/// γ over training: <paramref name="EarlySpeed"/> for the first <paramref name="EarlySteps"/> steps, then
/// <paramref name="Speed"/> until <paramref name="FreezeStep"/>, then 0 (V3: 0.001, then 0 for the last 500B tokens).
/// </summary>
/// <param name="Speed">Bias update speed γ.</param>
/// <param name="FreezeStep">First step (0-based) with γ = 0; 0 means never.</param>
/// <param name="EarlySpeed">γ of the early phase (undoing a fresh model's routing collapse).</param>
/// <param name="EarlySteps">Steps (from step 0) of the early phase; 0 means none.</param>
public sealed record BiasUpdateSchedule(double Speed, long FreezeStep, double EarlySpeed = 0, long EarlySteps = 0)
{
    /// <summary>The schedule a training config asks for.</summary>
    public static BiasUpdateSchedule From(TrainingConfig training) =>
        new(training.BiasUpdateSpeed, training.BiasUpdateFreezeStep, training.BiasUpdateSpeedEarly, training.BiasUpdateEarlySteps);

    /// <summary>γ to apply after step <paramref name="step"/> (0-based).</summary>
    public double GammaAt(long step) =>
        FreezeStep > 0 && step >= FreezeStep ? 0
        : step < EarlySteps ? EarlySpeed
        : Speed;
}
