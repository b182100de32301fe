namespace Orchestrator.Grains;

/// <summary>What a rank reports to its job after each optimizer step.</summary>
/// <param name="Step">The step just completed, from 1.</param>
/// <param name="Loss">Total loss of the step.</param>
/// <param name="TokensPerSecond">Throughput of the step on this rank.</param>
/// <param name="MaxVio">The largest per-layer MaxVio of the step's expert loads.</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="Loads">Per MoE layer, tokens routed to each expert, summed over all the job's ranks.</param>
[GenerateSerializer, Immutable]
public sealed record StepMetrics(
    [property: Id(0)] long Step,
    [property: Id(1)] double Loss,
    [property: Id(2)] double TokensPerSecond,
    [property: Id(3)] double MaxVio,
    [property: Id(4)] double LearningRate,
    [property: Id(5)] IReadOnlyList<long[]> Loads)
{
    /// <summary>Wall time of the step on this rank.</summary>
    [Id(6)]
    public double StepSeconds { get; init; }

    /// <summary>Control-plane time on the step's path: rank 0's round trip to the job's load balancer.</summary>
    [Id(7)]
    public double ControlSeconds { get; init; }

    /// <summary>Per MoE layer, each routed expert's bias after the step's update (the dashboard shows them); null when not reported.</summary>
    [Id(8)]
    public IReadOnlyList<double[]>? Biases { get; init; }

    /// <summary>True when the step's loss was not finite and its update was not applied (spec <c>alerts.on_nan: skip</c>).</summary>
    [Id(9)]
    public bool Skipped { get; init; }

    /// <summary>The newest step whose peer snapshots every rank knows complete (rank 0's report), or null without peer snapshots.</summary>
    [Id(10)]
    public long? MemoryStep { get; init; }

    /// <summary>On the rank's first step of its epoch only: seconds from its start to its first step (data plane, model, state load).</summary>
    [Id(11)]
    public double? ReadySeconds { get; init; }

    /// <summary>On the rank's first step of its epoch only: seconds it spent loading the state it resumed from.</summary>
    [Id(12)]
    public double? LoadSeconds { get; init; }

    /// <summary>How long this step's boundary was held up by the peer snapshot (agreement and copy), or null when none was due.</summary>
    [Id(13)]
    public double? SnapshotSeconds { get; init; }

    /// <summary>A grpo job's rollouts and update of this step (rank 0's report, over every rank); null for other kinds and ranks.</summary>
    [Id(14)]
    public GrpoStepMetrics? Grpo { get; init; }
}
