using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The computes a simulated pipeline rank records for its stage each step: the job's schedule built for its stages
/// and micro-batches (the gradient accumulation, as real stages take it), run on paper by <see cref="PipelineSimulator"/>
/// with unit costs (F = B-for-input = W = 1, a full backward 2), scaled so the step's program lasts the simulated
/// step time. The real rank records measured intervals; this one records the schedule's ideal ones, so the stage
/// grains, the dashboard's pipeline panel and the control-plane traffic are those of a real pipeline job.
/// </summary>
internal sealed class SimulatedStageTimeline
{
    private readonly IReadOnlyList<StageInterval> _intervals;

    private SimulatedStageTimeline(string schedule, IReadOnlyList<int> virtualStages, IReadOnlyList<StageInterval> intervals)
    {
        Schedule = schedule;
        VirtualStages = virtualStages;
        _intervals = intervals;
    }

    /// <summary>The schedule's name.</summary>
    public string Schedule { get; }

    /// <summary>The virtual stages the stage's ranks hold, by chunk.</summary>
    public IReadOnlyList<int> VirtualStages { get; }

    /// <summary>The timeline of <paramref name="stage"/> (of <paramref name="stages"/>) under <paramref name="scheduleName"/>, lasting <paramref name="stepMs"/>.</summary>
    /// <exception cref="PipelineScheduleException">No schedule has that name.</exception>
    /// <exception cref="ArgumentException">The schedule cannot run this many stages and micro-batches (the spec refuses them first).</exception>
    public static SimulatedStageTimeline For(string scheduleName, int stages, int microBatches, int stage, double stepMs)
    {
        var schedule = PipelineSchedule.Named(scheduleName) ?? throw new PipelineScheduleException($"no pipeline schedule named '{scheduleName}'");
        var paper = PipelineSimulator.Run(schedule.Build(stages, microBatches), new PipelineCosts(1, 1, 1));
        var scale = stepMs / paper.Makespan;
        var intervals = paper.Intervals[stage].Select(i => new StageInterval(StageOpNames.Of(i.Action.Op), i.Action.MicroBatch, i.Action.Stage,
            i.Start * scale, i.End * scale)).ToArray();
        var chunks = Enumerable.Range(0, schedule.ChunksPerRank).Select(c => schedule.VirtualStageOf(stage, c, stages)).ToArray();
        return new SimulatedStageTimeline(schedule.Name, chunks, intervals);
    }

    /// <summary>The record of one step.</summary>
    public StageTimeline At(long epoch, int stage, long step) => new(epoch, stage, step, Schedule, VirtualStages, _intervals);
}
