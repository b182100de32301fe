namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>When each compute of a simulated plan ran, per rank, and what the step cost.</summary>
/// <param name="Intervals">Each rank's computes with their start and end, in program order.</param>
/// <param name="Makespan">When the last rank finished.</param>
/// <param name="PeakActivations">Per rank, the most micro-batch chunks whose activations were held at once (from a forward until the backward that frees them: the full backward, or W when split).</param>
public sealed record PipelineTimeline(IReadOnlyList<IReadOnlyList<PipelineInterval>> Intervals, double Makespan, IReadOnlyList<int> PeakActivations)
{
    /// <summary>Per rank, the step's time not spent computing: the makespan less the rank's compute.</summary>
    public IReadOnlyList<double> Bubbles => Intervals.Select(rank => Makespan - rank.Sum(i => i.End - i.Start)).ToArray();

    /// <summary>The largest bubble over ranks over the makespan.</summary>
    public double BubbleFraction => Bubbles.Max() / Makespan;
}

/// <summary>One compute on the timeline.</summary>
public sealed record PipelineInterval(PipelineAction Action, double Start, double End);
