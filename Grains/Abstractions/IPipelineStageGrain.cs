namespace Orchestrator.Grains;

/// <summary>
/// One pipeline stage of one epoch of a job, keyed <c>job/epoch/stage@node</c> (the node of the stage's first rank,
/// which the grain is pinned with): what the stage runs — its schedule, virtual stages and layers — and the
/// timeline of its last recorded steps (each forward, backward and weight pass with its micro-batch), which the
/// dashboard shows. The compute stays on the rank's device thread; the stage's first rank records here once a step.
/// </summary>
public interface IPipelineStageGrain : IGrainWithStringKey
{
    /// <summary>Records one step's timeline of the stage; refused when it names another stage or epoch than the key.</summary>
    Task Record(StageTimeline timeline);

    /// <summary>The newest recorded step's timeline, or null before the first.</summary>
    Task<StageTimeline?> Latest();
}

/// <summary>A stage's computes in one step, milliseconds from the start of its program.</summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Stage">The pipeline stage (the rank's stage coordinate).</param>
/// <param name="Step">The step (1-based).</param>
/// <param name="Schedule">The schedule's name.</param>
/// <param name="VirtualStages">The virtual stages the rank holds, by chunk.</param>
/// <param name="Intervals">Each compute, in program order.</param>
[GenerateSerializer, Immutable]
public sealed record StageTimeline(
    [property: Id(0)] long Epoch,
    [property: Id(1)] int Stage,
    [property: Id(2)] long Step,
    [property: Id(3)] string Schedule,
    [property: Id(4)] IReadOnlyList<int> VirtualStages,
    [property: Id(5)] IReadOnlyList<StageInterval> Intervals)
{
    /// <summary>Milliseconds the stage computed in the step.</summary>
    public double ComputeMs => Intervals.Sum(i => i.EndMs - i.StartMs);
}

/// <summary>One compute of a stage's step.</summary>
/// <param name="Op">F, B, Bi (input gradient) or W (weight gradient).</param>
/// <param name="MicroBatch">The micro-batch.</param>
/// <param name="VirtualStage">The virtual stage it ran.</param>
/// <param name="StartMs">Start, ms from the program's start.</param>
/// <param name="EndMs">End, ms from the program's start.</param>
[GenerateSerializer, Immutable]
public sealed record StageInterval(
    [property: Id(0)] string Op,
    [property: Id(1)] int MicroBatch,
    [property: Id(2)] int VirtualStage,
    [property: Id(3)] double StartMs,
    [property: Id(4)] double EndMs);
