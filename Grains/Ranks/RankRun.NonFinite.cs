using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A non-finite step on a rank (spec <c>alerts.on_nan</c>) and the spec's deliberate faults. The trainer has already
/// skipped the step on every rank alike; with <c>skip</c> the run goes on, with <c>fail</c> or <c>rollback</c> every
/// rank stops here, at the same step, and the job fails or rolls back.
/// </summary>
internal partial class RankRun
{
    /// <summary>The spec's deliberate faults when they fire in this rank's epoch (tests and drills only); null otherwise.</summary>
    protected FaultInjection? Faults => Start.Spec.Faults is { } faults && faults.Epoch == Key.Epoch ? faults : null;

    private bool _stalled;

    /// <summary>
    /// Fault injection (spec faults): this rank stalls once, before the first step at or after <c>faults.stall_step</c>
    /// that its epoch runs (<paramref name="done"/> steps done; a recovered epoch starts past its resume step); its peers
    /// wait for it. True when the run was stopped during the stall.
    /// </summary>
    protected bool StallIfInjected(long done)
    {
        if (_stalled || Faults is not { StallRank: { } stalling } stall || stalling != Groups.Rank || done + 1 < stall.StallStep) return false;
        _stalled = true;
        return Stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(stall.StallSeconds));
    }

    /// <summary>Stops the run on a skipped step unless the spec says to skip it.</summary>
    /// <exception cref="NonFiniteLossException">The step was not finite and <c>alerts.on_nan</c> is not <c>skip</c>.</exception>
    protected void StopOnSkippedStep(StepReport step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (!step.Skipped || Start.Spec.Alerts.OnNan == NonFiniteLossAction.Skip) return;
        Checkpoints.Flush(); // the last good checkpoint's write (and vote) is done before the rank stops: a rollback may resume from it
        throw new NonFiniteLossException(step.Step - 1, Config.Training!.GradientAccumulation - 1, "total loss or gradient norm", step.Loss);
    }
}
