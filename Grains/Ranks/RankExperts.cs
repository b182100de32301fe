using System.Text.Json;
using Orchestrator.Grains.Balancing;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A rank's expert placement (issue 14): the map it starts on — the resume checkpoint's, so a checkpoint made before a
/// move resumes on its own map; else the job's first map (the formula placement, or with redundant slots the
/// rebalancer's placement of even loads) — and, when the spec's <c>balancing</c> is on, who decides the moves: the job's
/// load balancer, asked by rank 0, its answer broadcast to every rank.
/// </summary>
internal static class RankExperts
{
    /// <summary><paramref name="parallel"/> with the map the rank starts on.</summary>
    public static ExpertParallelism WithMap(ExpertParallelism parallel, RankStart start, ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(parallel);
        ArgumentNullException.ThrowIfNull(start);
        var layers = model.MoeLayers + model.MtpDepth;
        // The state the ranks restore: peer memory's when the recovery starts from it, else the checkpoint's.
        var state = start.MemoryResume?.StateJson ?? start.Resume?.StateJson;
        var recorded = state is null ? null : JsonSerializer.Deserialize<TrainerState>(state)?.ExpertMap;
        var map = recorded?.ToMap(model.RoutedExperts, parallel.WorldSize)
            ?? ExpertReplacementSchedule.InitialMap(JobExpertSettings.Of(start.Spec, model), model.RoutedExperts, parallel.WorldSize, layers);
        return parallel with { Map = map };
    }

    /// <summary>The rank's placement authority, null when re-placement is off; <paramref name="balancer"/> is rank 0's only.</summary>
    public static IExpertPlacementAuthority? Authority(JobSpec spec, ModelConfig model, ExpertParallelism? parallel, ILoadBalancerGrain? balancer, long epoch)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (parallel is null || spec.Balancing is not { } balancing) return null;
        var root = balancer is null ? null : new GrainPlacementAuthority(balancer, epoch, balancing, spec.Layout.RedundantExperts, model.ExpertGroups);
        return new BeforeLastStep(new BroadcastPlacementAuthority(parallel.World, root), spec.Steps);
    }

    /// <summary>No decision after the job's last step (every rank knows it, so none asks and none waits in the broadcast).</summary>
    private sealed class BeforeLastStep(IExpertPlacementAuthority inner, long steps) : IExpertPlacementAuthority
    {
        public ExpertMap? Decide(long step, IReadOnlyList<long[]> loads, ExpertMap current) =>
            step + 1 >= steps ? null : inner.Decide(step, loads, current);
    }

    /// <summary>What rank 0 tells the job of a re-placement made after <paramref name="step"/>: both maps, per-rank loads of the step under each.</summary>
    public static ExpertReplacementReport Report(StepReport step, ExpertReplacementDone done)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(done);
        double[][] RankLoads(ExpertMap map) =>
            map.Layers.Select((layer, l) => layer.RankLoads(step.Loads[l].Select(x => (double)x).ToArray())).ToArray();
        return new ExpertReplacementReport(step.Step, View(done.From), View(done.To), RankLoads(done.From), RankLoads(done.To),
            done.Moved.TotalCopies, done.Moved.TotalBytes, done.Moved.Seconds);
    }

    private static ExpertMapView View(ExpertMap map) => new(map.Version, map.ToSlots());
}
