namespace Orchestrator.Kernels.Training;

/// <summary>What the trainer does with a step whose loss or gradient norm is NaN or infinite.</summary>
public enum NonFiniteSteps
{
    /// <summary>Throw <see cref="NonFiniteLossException"/>: the step is not applied and the run stops.</summary>
    Fail,

    /// <summary>Apply nothing of the step, go on with the next step's data, and report the step as skipped.</summary>
    Skip,
}
