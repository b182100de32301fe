using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Benchmarks.Training;

/// <summary>A sampled point of a balancing run.</summary>
internal sealed record MaxVioPoint(long Step, double BatchMaxVio, double GlobalMaxVio, double MainLoss, double BalanceLoss);

/// <summary>One balancing run: its γ, the series every few steps, and the figures at the end.</summary>
internal sealed record MaxVioRun(
    string Name, string Gamma, int Steps, double FinalGlobalMaxVio, double[] FinalGlobalMaxVioPerLayer,
    double MeanBatchMaxVioLast, double MeanMainLossLast, double FinalMainLoss, double Seconds, IReadOnlyList<MaxVioPoint> Series)
{
    /// <summary>
    /// Trains <paramref name="model"/> for <paramref name="steps"/> steps from the config's seed, with
    /// γ from <paramref name="gamma"/>; everything else (data, init, α) is identical between runs.
    /// </summary>
    public static MaxVioRun Train(string name, ModelConfig model, TrainingConfig training, TokenDataset dataset,
        GammaSchedule gamma, int steps, int window, int every)
    {
        // γ goes through the trainer's own schedule: an early phase where the schedule has one (training.bias_update_speed_early).
        var config = training with
        {
            BiasUpdateSpeed = gamma.Late, BiasUpdateFreezeStep = 0,
            BiasUpdateSpeedEarly = gamma.Constant ? 0 : gamma.Early, BiasUpdateEarlySteps = gamma.Constant ? 0 : gamma.SwitchStep,
        };
        var source = new DatasetBatchSource(dataset, config.Seed, config.SequenceLength + 1 + model.MtpDepth,
            config.MicroBatchSize, config.GradientAccumulation);
        using var trainer = new Trainer(model, config, source, steps);
        var global = new GlobalMaxVio(window);
        var series = new List<MaxVioPoint>();
        var tail = new List<(double BatchMaxVio, double MainLoss)>();
        var seconds = 0.0;
        StepReport? last = null;
        for (var step = 0; step < steps; step++)
        {
            last = trainer.TrainStep();
            seconds += last.Seconds;
            global.Add(last.Loads);
            var batch = last.MaxViolationOverLayers;
            if (step >= steps - window) tail.Add((batch, last.MainLoss));
            if (last.Step % every == 0 || last.Step == 1 || step == steps - 1)
                series.Add(new MaxVioPoint(last.Step, batch, global.Value, last.MainLoss, last.BalanceLoss));
            if (last.Step % 50 == 0)
                Console.Error.WriteLine($"  {name} step {last.Step}: batch MaxVio {batch:F3}, global {global.Value:F3}, main loss {last.MainLoss:F4}");
        }

        return new MaxVioRun(name, gamma.ToString(), steps, global.Value, global.PerLayer(),
            tail.Average(t => t.BatchMaxVio), tail.Average(t => t.MainLoss), last!.MainLoss, seconds, series);
    }
}
