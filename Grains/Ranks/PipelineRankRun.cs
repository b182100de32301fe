using Orchestrator.Grains.Balancing;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.DataPlane;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// A rank that runs pipeline stages (<c>parallel.pp</c> &gt; 1): its <see cref="PipelineTrainer"/> holds the virtual
/// stages the job's schedule gives its stage coordinate, and exchanges activations and input gradients with the
/// neighbouring stages' ranks through grain calls into their mailboxes (<see cref="MailboxStageLink"/>), beside
/// the pipeline group's collectives (norm, loads, losses, the bias broadcast). The compute runs on the device
/// executor's thread like every rank's; step reports, checkpoints (each stage's first rank writes its stage's
/// tensors, under the whole model's names) and resume are the base run's.
/// </summary>
internal sealed class PipelineRankRun(RankKey key, RankStart start, RankServices services) : RankRun(key, start, services)
{
    private static readonly DataPlaneDecision Links = new(DataPlaneKind.Grains, "pipeline stages: activations and gradients through grain calls");

    /// <inheritdoc />
    protected override RankOutcome Train()
    {
        SetThreads();
        using var dataset = TokenDataset.Open(Start.Spec.DataDirectory);
        using var trainer = SetUpStages(dataset);
        Ready(); // the rank's start span ends: the first step comes next
        RunSteps(() => trainer.Step, goOn => Step(trainer, goOn));
        Checkpoints.Flush(); // the last write is prepared before the rank reports its end
        return new RankOutcome(!Stopping.IsCancellationRequested, null, trainer.Step);
    }

    private PipelineTrainer SetUpStages(TokenDataset dataset)
    {
        var (model, training) = (Config.Model!, Config.Training!);
        var layout = Start.Spec.Layout;
        var schedule = PipelineSchedule.Named(layout.Schedule)
            ?? throw new InvalidOperationException($"job {Key.JobId} names the pipeline schedule '{layout.Schedule}', which this node does not know");
        var pipeline = Groups.Pipeline ?? throw new InvalidOperationException($"rank {Key.Rank} of job {Key.JobId} has no pipeline group (pp {layout.Stages})");
        var window = training.SequenceLength + 1 + model.MtpDepth;
        // Every stage of a pipeline reads the same rows (inputs on the first, targets on the last): no tokens travel;
        // each data-parallel replica's pipeline reads its own share of the global batch.
        var batches = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation,
            Groups.DataShard, Groups.DataShards);
        var peers = Peers();
        // Every transfer is metered (bytes and time per collective, as the single-stage ranks' data plane is).
        ICollective Group(ProcessGroup group) => new MeteredCollective(peers.Group(group.Number, group.Members, Groups.Rank), Key.JobId, "grains");
        var link = new MeteredStageLink(peers.StageLink(pipeline.Number, pipeline.Members, Groups.Rank), Key.JobId, "grains");
        var collective = Group(pipeline);
        // With dp > 1 the stage's replicas average their gradients; with ep > 1 the stage shards its routed experts over its
        // EP group (the all-to-all inside its forward and backward). The biases are broadcast to every rank of the job.
        var replicas = Groups.Replicas is { } r ? Group(r) : null;
        var experts = layout.Ep == 1 ? null
            : new ExpertParallelism(Group(Groups.Experts), ExpertPlacement.Create(model.RoutedExperts, layout.Ep))
            {
                World = Group(Groups.Stage),
                Replicas = replicas,
            };
        var world = Groups.World.Members.Count == pipeline.Members.Count ? collective : Group(Groups.World);
        ReportDataPlane(Links);
        var device = ComputeDevice();

        // The first stage's rank asks the job's load balancer for every layer's biases; the other stages receive them.
        Authority = Groups.Rank == 0 ? new GrainBiasAuthority(Services.Grains.GetGrain<ILoadBalancerGrain>(Key.JobId), Key.Epoch) : null;
        IExpertBiasAuthority biases = new BroadcastBiasAuthority(world, Authority);
        // A NaN step is skipped inside the trainer (every stage alike, after the all-reduce); Step then carries on, or
        // stops the run on it, as the spec's alerts.on_nan says.
        var trainer = new PipelineTrainer(model, training, batches, Start.Spec.Steps, schedule, link, collective, layout.StageLayerCounts(), biases, device,
            experts is null ? replicas : null, experts)
        {
            OnNonFinite = Kernels.Training.NonFiniteSteps.Skip,
            InjectNanAtStep = Faults?.NanStep - 1, // fault injection (spec faults), never set otherwise
        };
        try
        {
            if (Start.Resume is { } resume) ShardLoader.Restore(trainer, resume, StorageRoot); // checkpoints: load (verified)
            var all = trainer.GatherBiases(); // every stage takes part
            Authority?.Begin(trainer.Step, all);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>One step, its timeline (the stage's first rank), report and checkpoint when due; whether every stage goes on.</summary>
    private bool Step(PipelineTrainer trainer, Func<bool> goOn)
    {
        var step = trainer.TrainStep(goOn);
        if (Groups.At is { Data: 0, Expert: 0 }) RecordTimeline(trainer, step.Step); // one record per stage per step
        return Reported(step, trainer, () => ExpertBiases.Of(trainer.Biases));
    }

    /// <summary>The step's computes go to the stage's grain (pinned with this rank), which the dashboard reads.</summary>
    private void RecordTimeline(PipelineTrainer trainer, long step)
    {
        var intervals = trainer.LastTimeline.Select(i => new StageInterval(StageOpNames.Of(i.Action.Op), i.Action.MicroBatch, i.Action.Stage,
            i.Start * 1e3, i.End * 1e3)).ToArray();
        var timeline = new StageTimeline(Key.Epoch, Groups.At.Stage, step, Start.Spec.Layout.Schedule,
            trainer.Chunks.Select(c => c.Stage.Stage).ToArray(), intervals);
        var stage = Services.Grains.GetGrain<IPipelineStageGrain>(Pipeline.PipelineStageGrain.KeyOf(Key.JobId, Key.Epoch, Groups.At.Stage, Key.Node));
        Report(() => stage.Record(timeline));
    }
}
