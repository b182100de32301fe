using Orchestrator.Kernels.Model;

namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>What one rank's program did in a step: its loss sums over micro-batches and when each compute ran.</summary>
internal sealed class PipelineStepResult
{
    /// <summary>Σ over micro-batches of the main loss (the last stage's rank only).</summary>
    public double Main { get; private set; }

    /// <summary>Σ over micro-batches of the mean MTP loss (the last stage's rank only).</summary>
    public double Mtp { get; private set; }

    /// <summary>Σ over micro-batches of this rank's stages' balance-loss terms.</summary>
    public double Balance { get; set; }

    /// <summary>Micro-batches whose loss this rank computed.</summary>
    public int Losses { get; private set; }

    /// <summary>The rank's computes, seconds from the start of its program.</summary>
    public List<PipelineInterval> Intervals { get; } = [];

    /// <summary>Makes the step's main loss NaN (fault injection: the gradients are NaN too).</summary>
    public void Poison() => Main = double.NaN;

    /// <summary>Adds the last stage's losses of one micro-batch.</summary>
    public void AddLosses(ModelLoss loss)
    {
        Main += loss.Main.item<float>();
        Mtp += loss.Mtp.Count == 0 ? 0f : loss.Mtp.Average(t => t.item<float>());
        Balance += loss.Balance.item<float>();
        Losses++;
    }
}
