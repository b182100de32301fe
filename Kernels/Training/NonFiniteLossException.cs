namespace Orchestrator.Kernels.Training;

/// <summary>A step produced a NaN or infinite loss; nothing of that step was applied.</summary>
public sealed class NonFiniteLossException(long step, int microStep, string component, double value)
    : Exception($"step {step}: the {component} loss of micro-batch {microStep} is {value}; the step was not applied and no checkpoint was touched " +
                "(lower training.lr, raise training.warmup_steps or check the data)")
{
    public long Step { get; } = step;
    public string Component { get; } = component;
}
