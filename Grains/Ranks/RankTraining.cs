using System.Diagnostics;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The work of one rank on its device thread: the trainer on the rank's shard of the job's data,
/// reporting every step. With ep > 1 the rank holds its share of the routed experts and exchanges
/// tokens, gradients and loads with its peers through grain calls (<see cref="RankPeers"/>).
/// </summary>
internal static class RankTraining
{
    /// <summary>Trains until the last step, the time limit or <paramref name="stop"/>; returns how it ended.</summary>
    public static RankOutcome Run(RankStart start, string checkpointRoot, Action<StepMetrics> report, RankPeers peers, CancellationToken stop)
    {
        var spec = start.Spec;
        var config = JobSpecParser.RunConfigOf(spec);
        var model = config.Model!;
        var training = config.Training!;
        // libtorch's thread count is process-wide; the rank sets it, as the single-process run does.
        TorchSharp.torch.set_num_threads(training.Threads);
        using var dataset = TokenDataset.Open(spec.DataDirectory);
        var window = training.SequenceLength + 1 + model.MtpDepth;
        // Every rank trains on its own rows of the global batch (EP ranks are data-parallel for the dense layers).
        var ranks = start.Layout.Ep * start.Layout.Dp;
        var batches = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation,
            start.Assignment.Rank, ranks);
        var parallel = start.Layout.Ep > 1
            ? new ExpertParallelism(peers.Collective(start.Assignment.EpRank, start.Layout.Ep), ExpertPlacement.Create(model.RoutedExperts, start.Layout.Ep))
            : null;
        using var trainer = new Trainer(model, training, batches, spec.Steps, parallel);
        var clock = Stopwatch.StartNew();
        var limit = spec.MaxSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        while (trainer.Step < spec.Steps && KeepGoing(!stop.IsCancellationRequested && clock.Elapsed < limit, parallel))
        {
            var step = trainer.TrainStep();
            report(new StepMetrics(step.Step, step.Loss, step.TokensPerSecond, step.MaxViolationOverLayers, step.LearningRate, step.Loads,
                ExpertBiases.Read(trainer.Model)));
            if (spec.Checkpoint.Every > 0 && step.Step % spec.Checkpoint.Every == 0)
                SaveCheckpoint(trainer, checkpointRoot, spec.Checkpoint.Keep);
        }

        return stop.IsCancellationRequested
            ? new RankOutcome(false, null, trainer.Step)
            : new RankOutcome(true, null, trainer.Step);
    }

    /// <summary>Ranks stop together: one rank leaving on its own would leave its peers waiting in a collective.</summary>
    private static bool KeepGoing(bool mine, ExpertParallelism? parallel) =>
        parallel is null ? mine : parallel.Collective.AllGather([mine ? 1 : 0]).All(v => v[0] == 1);

    private static void SaveCheckpoint(Trainer trainer, string root, int keep)
    {
        TrainerCheckpoint.Save(trainer, root);
        var old = Directory.GetDirectories(root, "step-*").Order(StringComparer.Ordinal).SkipLast(keep);
        foreach (var folder in old) Directory.Delete(folder, recursive: true);
    }
}
