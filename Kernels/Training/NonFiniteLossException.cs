namespace Orchestrator.Kernels.Training;

/// <summary>A step produced a NaN or infinite value; nothing of that step was applied.</summary>
public sealed class NonFiniteLossException : Exception
{
    private const string Advice = "the step was not applied and no checkpoint was touched (lower training.lr, raise training.warmup_steps or check the data)";

    /// <summary>A non-finite loss or gradient norm.</summary>
    public NonFiniteLossException(long step, int microStep, string component, double value)
        : base($"step {step}: the {component} of micro-batch {microStep} is {value}; {Advice}")
    {
        Step = step;
        Component = component;
    }

    /// <summary>A non-finite value met on its way into an FP8 GEMM (<paramref name="inner"/> names the tile).</summary>
    public NonFiniteLossException(long step, int microStep, Exception inner)
        : base($"step {step}, micro-batch {microStep}: {inner.Message}; {Advice}", inner)
    {
        Step = step;
        Component = "fp8 input";
    }

    public long Step { get; }
    public string Component { get; }
}
