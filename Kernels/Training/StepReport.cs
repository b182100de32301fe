namespace Orchestrator.Kernels.Training;

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">1-based number of the step just completed.</param>
/// <param name="Loss">Total loss (main + λ·MTP + balance), averaged over micro-batches.</param>
/// <param name="MainLoss">Next-token cross-entropy of the main model.</param>
/// <param name="MtpLoss">Mean MTP cross-entropy over depths (0 without MTP).</param>
/// <param name="BalanceLoss">Sequence-wise balance loss.</param>
/// <param name="LearningRate">Rate used for this step.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="Tokens">Tokens trained on (micro-batches × sequences × length).</param>
/// <param name="Seconds">Wall time of the step.</param>
/// <param name="Loads">Per MoE layer, tokens routed to each expert in this step.</param>
/// <param name="MaxViolation">Per MoE layer, MaxVio of this step's loads.</param>
public sealed record StepReport(
    long Step, double Loss, double MainLoss, double MtpLoss, double BalanceLoss,
    double LearningRate, double GradNorm, long Tokens, double Seconds,
    IReadOnlyList<long[]> Loads, IReadOnlyList<double> MaxViolation)
{
    /// <summary>
    /// Whether every rank voted to go on after this step (see <see cref="Trainer.TrainStep(Func{bool})"/>); one
    /// process's own vote without expert parallelism.
    /// </summary>
    public bool EveryRankGoesOn { get; init; } = true;

    /// <summary>
    /// Over every rank, the state of its previous peer snapshot when it voted in this step (<see cref="Trainer.SnapshotState"/>);
    /// all arrived when nobody asked.
    /// </summary>
    public SnapshotTally Snapshots { get; init; }

    /// <summary>
    /// True when the step's loss or gradient norm was not finite and, by <see cref="Trainer.OnNonFinite"/>, nothing of
    /// it was applied (parameters, optimizer moments and expert biases are as before it).
    /// </summary>
    public bool Skipped { get; init; }

    /// <summary>The re-placement made after this step (the next step routes by its new map); null when the experts stayed.</summary>
    public ExpertReplacementDone? Replacement { get; init; }

    /// <summary>Tokens per second of this step.</summary>
    public double TokensPerSecond => Seconds > 0 ? Tokens / Seconds : 0;

    /// <summary>The largest MaxVio over layers (0 for a dense model).</summary>
    public double MaxViolationOverLayers => MaxViolation.Count == 0 ? 0 : MaxViolation.Max();
}

/// <summary>A re-placement made at a step boundary: the map before and after, and what this rank moved.</summary>
public sealed record ExpertReplacementDone(Distributed.ExpertMap From, Distributed.ExpertMap To, ExpertMoveReport Moved);
