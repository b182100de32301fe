namespace Orchestrator.Kernels.Training;

/// <summary>Linear warm-up to the peak rate, then cosine decay to the minimum over the decay horizon, flat after.</summary>
public sealed record LearningRateSchedule(double Peak, double Minimum, int WarmupSteps, long DecaySteps)
{
    /// <summary>Rate for 0-based <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        var span = Math.Max(1, DecaySteps - WarmupSteps);
        var progress = Math.Min(1.0, (double)(step - WarmupSteps) / span);
        return Minimum + 0.5 * (Peak - Minimum) * (1 + Math.Cos(Math.PI * progress));
    }
}
