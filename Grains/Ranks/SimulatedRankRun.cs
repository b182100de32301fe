using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Grains.Balancing;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.DataPlane;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A rank on a simulated device (<c>sim:N</c>): the real rank protocol with no model. Each step is a timed wait
/// (the compute and collectives), the expert loads of the whole job come from <see cref="SimulatedRouting"/>
/// under the current biases, rank 0 makes the real bias round trip to the job's load balancer (every rank
/// applies the same pure update, which is what the real broadcast delivers), every rank reports the step as
/// a real rank does (loads and biases included), and every due step each rank writes a real, hashed shard of
/// the spec's size and votes in the two-phase commit. A resume reads the biases back from its checkpoint. In a
/// pipeline job (<c>parallel.pp</c> &gt; 1) every rank does the same (loads of every layer, as the real first stage
/// reports them), and each stage's first rank records its stage's timeline (<see cref="SimulatedStageTimeline"/>).
/// </summary>
internal sealed class SimulatedRankRun(RankKey key, RankStart start, RankServices services) : RankRun(key, start, services)
{
    private static readonly DataPlaneDecision Simulated = new(DataPlaneKind.None, "simulated ranks: the collectives are a timed wait");
    private readonly IGrainFactory _grains = services.Grains;

    /// <inheritdoc />
    protected override RankOutcome Train()
    {
        var simulation = Start.Spec.Simulation ?? SimulationSpec.Default;
        var (model, training) = (Config.Model!, Config.Training!);
        ReportDataPlane(Simulated);
        var step = Start.Resume?.Step ?? 0;
        var biases = Start.Resume is { } resume ? SimulatedShards.ReadBiases(resume, StorageRoot, Groups.Rank) : ZeroBiases(model);
        Authority = Groups.Rank == 0 ? new GrainBiasAuthority(_grains.GetGrain<ILoadBalancerGrain>(Key.JobId), Key.Epoch) : null;
        Authority?.Begin(step, biases);
        Ready();
        long tokensPerRank = (long)training.MicroBatchSize * training.SequenceLength * training.GradientAccumulation;
        var schedule = BiasUpdateSchedule.From(training);
        var tokens = tokensPerRank * Groups.DataShards; // every rank trains on its own rows of the global batch
        var wait = TimeSpan.FromMilliseconds(simulation.StepMilliseconds);
        // Pipeline stages: the stage's first rank records the schedule's timeline once a step, as a real stage does.
        var layout = Start.Spec.Layout;
        var timeline = layout.Stages > 1 && Groups.At is { Data: 0, Expert: 0 }
            ? SimulatedStageTimeline.For(layout.Schedule, layout.Stages, training.GradientAccumulation, Groups.At.Stage, simulation.StepMilliseconds)
            : null;
        var stageGrain = timeline is null ? null
            : _grains.GetGrain<IPipelineStageGrain>(Pipeline.PipelineStageGrain.KeyOf(Key.JobId, Key.Epoch, Groups.At.Stage, Key.Node));
        var clock = Stopwatch.StartNew();
        var limit = Start.Spec.MaxSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        var writes = new List<Task>();
        while (!Stopping.IsCancellationRequested && step < Start.Spec.Steps && clock.Elapsed < limit)
        {
            var began = Stopwatch.GetTimestamp();
            if (StallIfInjected(step)) break; // fault injection: this rank stalls (stopped meanwhile: it ends)
            var loads = SimulatedRouting.Loads(training.Seed, step, tokens, model.ActivatedExperts, model.RoutedExperts, simulation.Skew, biases);
            if (Stopping.WaitHandle.WaitOne(wait)) break; // stopped inside the step: it does not count, as a real rank's aborted step
            var gamma = schedule.GammaAt(step);
            biases = Authority is { } authority ? authority.Update(step, loads, gamma, biases) : LocalBiasAuthority.Instance.Update(step, loads, gamma, biases);
            step++;
            if (stageGrain is not null)
            {
                var record = timeline!.At(Key.Epoch, Groups.At.Stage, step);
                Report(() => stageGrain.Record(record));
            }
            var elapsed = Stopwatch.GetElapsedTime(began).TotalSeconds;
            var lead = Groups.Rank == 0; // only rank 0's loads and biases are stored, so only it sends them (as a real rank)
            ReportStep(new StepMetrics(step, Loss(step), tokensPerRank / elapsed, loads.Max(l => ExpertBalance.MaxViolation(l)), training.LearningRate, lead ? loads : [])
            {
                StepSeconds = elapsed,
                ControlSeconds = Authority?.LastRoundTrip.TotalSeconds ?? 0,
                Biases = lead ? ExpertBiases.Of(biases) : null,
            });
            if (Start.Spec.Checkpoint.IsDue(step)) writes.Add(WriteShardAsync(step, biases, tokens * step, simulation.ShardKilobytes));
        }

        Task.WaitAll([.. writes]); // the last write is prepared before the rank reports its end
        return new RankOutcome(!Stopping.IsCancellationRequested, null, step);
    }

    // Off the step's path, as the real writer: the file, its hash, then the prepare vote (or the abort vote).
    private Task WriteShardAsync(long step, float[][] biases, long tokensSeen, int kilobytes) => Task.Run(() =>
    {
        var clock = Stopwatch.StartNew();
        try
        {
            if (Groups.Rank == 0 && Faults?.CheckpointFailStep == step) // fault injection (spec faults)
                throw new IOException($"fault injection: the write of step {step} fails (faults.checkpoint_fail_step)");
            var shard = SimulatedShards.Write(StorageRoot, Key.JobId, step, Key.Epoch, Groups.Rank, biases, kilobytes);
            var state = new TrainerState { Step = step, OptimizerUpdates = step, TokensSeen = tokensSeen, DataStep = step, Config = Start.Spec.Run.Json, Seed = Config.Training!.Seed };
            VotePrepared(new PreparedShard(step, shard, JsonSerializer.Serialize(state), clock.Elapsed.TotalSeconds));
        }
        catch (IOException e)
        {
            VoteAborted(step, $"rank {Groups.Rank} could not write its shard: {e.Message}");
        }
    });

    // A made-up loss curve: the control plane only stores and shows it.
    private static double Loss(long step) => 2.0 + 9.0 * Math.Exp(-step / 500.0);

    private static float[][] ZeroBiases(ModelConfig model) =>
        [.. Enumerable.Range(0, model.MoeLayers).Select(_ => new float[model.RoutedExperts])];
}
