using System.Diagnostics;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;
using Serilog;

namespace Orchestrator.Silo.Training;

/// <summary>A single-process training run: data, trainer, checkpoints, progress and summary.</summary>
public static class TrainingRun
{
    public static RunSummary Execute(TrainingRunOptions options, CancellationToken cancellation)
    {
        var model = options.Config.Model!;
        var training = options.Config.Training ?? new TrainingConfig();
        var config = options.Config with { Training = training };
        if (options.Steps <= 0) throw new ArgumentException($"--steps must be greater than 0 (got {options.Steps})");
        if (options.Resume && options.CheckpointDirectory is null) throw new ArgumentException("--resume needs --checkpoint-dir");
        if (options.CheckpointEvery <= 0) throw new ArgumentException($"--checkpoint-every must be greater than 0 (got {options.CheckpointEvery})");

        // libtorch's intra-op thread count is process-wide, so the run sets it, not the trainer.
        TorchSharp.torch.set_num_threads(training.Threads);
        // The trainer takes its device explicitly; libtorch's process-wide default device stays the CPU.
        var device = TrainingDevice.Resolve(options.Device);
        // The optional native libraries load before the device is selected, so the kernel library selects it too.
        if (CudaDeviceIndex(device) is not null) Log.Information("{Device}: {Libraries}", options.Device, Kernels.Gpu.GpuLibraries.Load());
        if (CudaDeviceIndex(device) is { } index) Kernels.Distributed.CudaDevice.Select(index);
        else if (model.GemmPrecision == "fp8") Log.Information("FP8 GEMMs: emulated (quantise, dequantise, float32 product) on {Device}", options.Device);
        using var dataset = TokenDataset.Open(options.DataDirectory);
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var batches = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation);
        using var trainer = StartTrainer(options, config, batches, device);
        var resumedFrom = trainer.Step > 0 ? trainer.Step : (long?)null;
        Log.Information("Parameters on {Device}", trainer.Model.parameters().First().device);
        var counts = ParameterCount.For(model);
        Log.Information("Training {Total:N0} parameters ({Active:N0} activated) on {Tokens:N0} {Tokenizer} tokens, steps {From}→{To}",
            counts.Total, counts.Activated, dataset.TotalTokens, dataset.TokenizerName, trainer.Step, options.Steps);

        var reports = new List<StepReport>();
        string? lastCheckpoint = null;
        var clock = Stopwatch.StartNew();
        StepProgress.Run($"training to step {options.Steps}", report =>
        {
            while (trainer.Step < options.Steps && !cancellation.IsCancellationRequested && !(clock.Elapsed >= options.MaxDuration))
            {
                var step = trainer.TrainStep();
                reports.Add(step);
                var fraction = options.MaxDuration is { } limit
                    ? Math.Max((double)step.Step / options.Steps, clock.Elapsed / limit)
                    : (double)step.Step / options.Steps;
                report(step, fraction);
                if (options.CheckpointDirectory is not null && step.Step % options.CheckpointEvery == 0)
                    lastCheckpoint = TrainerCheckpoint.Save(trainer, options.CheckpointDirectory);
            }
            return 0;
        });

        if (options.CheckpointDirectory is not null && reports.Count > 0 && reports[^1].Step % options.CheckpointEvery != 0)
            lastCheckpoint = TrainerCheckpoint.Save(trainer, options.CheckpointDirectory);
        if (lastCheckpoint is not null) Log.Information("Checkpoint at step {Step}: {Folder}", trainer.Step, lastCheckpoint);

        var seconds = reports.Sum(r => r.Seconds);
        var summary = new RunSummary
        {
            Steps = trainer.Step,
            StepsThisRun = reports.Count,
            ResumedFromStep = resumedFrom,
            LossFirst = reports.Count > 0 ? reports[0].Loss : double.NaN,
            LossLast = reports.Count > 0 ? reports[^1].Loss : double.NaN,
            TokensPerSecond = seconds > 0 ? reports.Sum(r => r.Tokens) / seconds : 0,
            MaxVioLast = reports.Count > 0 ? reports[^1].MaxViolationOverLayers : 0,
            ParamsTotal = counts.Total,
            ParamsActive = counts.Activated,
            TokensSeen = trainer.TokensSeen,
            Seconds = clock.Elapsed.TotalSeconds,
            LastCheckpoint = lastCheckpoint,
            Losses = reports.Select(r => r.Loss).ToArray(),
            MaxVio = reports.Select(r => r.MaxViolationOverLayers).ToArray(),
        };
        if (options.SummaryJson is not null) summary.Write(options.SummaryJson);
        Log.Information("Done: {Steps} steps this run, loss {First:F4} → {Last:F4}, {TokensPerSecond:F0} tokens/s, MaxVio {MaxVio:F3}",
            summary.StepsThisRun, summary.LossFirst, summary.LossLast, summary.TokensPerSecond, summary.MaxVioLast);
        return summary;
    }

    private static int? CudaDeviceIndex(TorchSharp.torch.Device device) =>
        device.type == TorchSharp.DeviceType.CUDA ? Math.Max(device.index, 0) : null;

    private static Trainer StartTrainer(TrainingRunOptions options, RunConfig config, IBatchSource batches, TorchSharp.torch.Device device)
    {
        if (options.Resume)
        {
            var latest = TrainerCheckpoint.Latest(options.CheckpointDirectory!);
            if (latest is not null)
            {
                Log.Information("Resuming from {Checkpoint}", latest);
                return TrainerCheckpoint.Load(latest, config, batches, options.Steps, device);
            }
            Log.Warning("No checkpoint in {Folder} yet; starting from step 0", options.CheckpointDirectory);
        }
        return new Trainer(config.Model!, config.Training!, batches, options.Steps, device: device);
    }
}
