using System.Diagnostics;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The work of one EP = 1 rank on its device thread: the single-process trainer on the job's data,
/// reporting every step. This is where the expert-sharded step plugs in once ranks share experts.
/// </summary>
internal static class RankTraining
{
    /// <summary>Trains until the last step, the time limit or <paramref name="stop"/>; returns how it ended.</summary>
    public static RankOutcome Run(RankStart start, string checkpointRoot, Action<StepMetrics> report, CancellationToken stop)
    {
        var spec = start.Spec;
        var config = JobSpecParser.RunConfigOf(spec);
        var model = config.Model!;
        var training = config.Training!;
        // libtorch's thread count is process-wide; the rank sets it, as the single-process run does.
        TorchSharp.torch.set_num_threads(training.Threads);
        using var dataset = TokenDataset.Open(spec.DataDirectory);
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var batches = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation,
            start.Assignment.DpRank, start.Layout.Dp);
        using var trainer = new Trainer(model, training, batches, spec.Steps);
        var clock = Stopwatch.StartNew();
        var limit = spec.MaxSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        while (trainer.Step < spec.Steps && !stop.IsCancellationRequested && clock.Elapsed < limit)
        {
            var step = trainer.TrainStep();
            report(new StepMetrics(step.Step, step.Loss, step.TokensPerSecond, step.MaxViolationOverLayers, step.LearningRate, step.Loads));
            if (spec.Checkpoint.Every > 0 && step.Step % spec.Checkpoint.Every == 0)
                SaveCheckpoint(trainer, checkpointRoot, spec.Checkpoint.Keep);
        }

        return stop.IsCancellationRequested
            ? new RankOutcome(false, null, trainer.Step)
            : new RankOutcome(true, null, trainer.Step);
    }

    private static void SaveCheckpoint(Trainer trainer, string root, int keep)
    {
        TrainerCheckpoint.Save(trainer, root);
        var old = Directory.GetDirectories(root, "step-*").Order(StringComparer.Ordinal).SkipLast(keep);
        foreach (var folder in old) Directory.Delete(folder, recursive: true);
    }
}
