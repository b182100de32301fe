using System.Diagnostics;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// What every kind of rank run does around its steps, whatever its trainer (one model, or pipeline stages): the
/// thread count and device, the loop that stops every rank together, and a step's report and checkpoint.
/// </summary>
internal partial class RankRun
{
    /// <summary>libtorch's thread count is process-wide; the rank sets it, as the single-process run does.</summary>
    private protected void SetThreads() => TorchSharp.torch.set_num_threads(Config.Training!.Threads);

    /// <summary>
    /// The rank's compute device. A GPU rank computes on its device: the trainer is given it (libtorch's default
    /// device, which is process-wide, stays the CPU), and this thread makes it CUDA's current device (kept per host
    /// thread) before anything GPU, so the FP8 kernels and cuBLASLt work on it too. A GPU rank loads the optional
    /// native libraries (FP8 kernels, ATen bridge) as the CLI's <c>train</c> does, and logs what it found.
    /// </summary>
    private protected TorchSharp.torch.Device ComputeDevice()
    {
        if (CudaDevice.IndexOf(Device) is not { } cuda) return TorchSharp.torch.CPU;
        LogGpuLibraries(Key.ToString(), Device, Kernels.Gpu.GpuLibraries.Load().ToString());
        CudaDevice.Select(cuda);
        return new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, cuda);
    }

    /// <summary>
    /// Steps until the job's last step, the time limit or a stop. Ranks stop together: each votes on going on inside
    /// the step (its loss all-reduce carries the votes), so a rank leaving on its own never leaves its peers waiting
    /// in a collective, at no extra round trip.
    /// </summary>
    private protected void RunSteps(Func<long> done, Func<Func<bool>, bool> step)
    {
        var clock = Stopwatch.StartNew();
        var limit = Start.Spec.MaxSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        var goOn = !Stopping.IsCancellationRequested; // a stopped rank's peers are aborted by the stop itself
        while (goOn && done() < Start.Spec.Steps && !StallIfInjected(done()))
            goOn = step(() => !Stopping.IsCancellationRequested && clock.Elapsed < limit);
    }

    /// <summary>
    /// A step's report to the job — only rank 0's loads and <paramref name="biases"/> are stored (they are the job's,
    /// summed), so only it sends them — and its checkpoint when due; whether every rank goes on. A non-finite step
    /// stops the run here unless the spec says to skip it.
    /// </summary>
    private protected bool Reported(StepReport step, IShardedTrainer trainer, Func<IReadOnlyList<double[]>> biases)
    {
        StopOnSkippedStep(step);
        // Peer snapshots: agree, copy now, send in the background with rank 0's reports not yet acknowledged (they may lag
        // its snapshots and die with it), so a step the job restores from memory has its metrics all the same.
        var reported = new TaskCompletionSource<IReadOnlyList<StepMetrics>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var snapshot = SnapshotAfter(step, trainer, reported.Task);
        var lead = Groups.Rank == 0;
        var metrics = new StepMetrics(step.Step, step.Loss, step.TokensPerSecond, step.MaxViolationOverLayers, step.LearningRate, lead ? step.Loads : [])
        {
            StepSeconds = step.Seconds,
            ControlSeconds = Authority?.LastRoundTrip.TotalSeconds ?? 0,
            Biases = lead ? biases() : null,
            Skipped = step.Skipped,
            MemoryStep = lead ? PeerSnapshots.Complete : null,
            SnapshotSeconds = snapshot,
            ReadySeconds = Readiness?.Ready,
            LoadSeconds = Readiness?.Load,
            Grpo = lead ? GrpoMetrics(trainer) : null,
        };
        reported.SetResult(Unacknowledged(metrics, ReportStep(metrics)));
        Readiness = null; // the first step's report carries it
        if (lead && step.Replacement is { } replaced) Report(() => _job.ReportExpertReplacement(Key.Epoch, RankExperts.Report(step, replaced)));
        if (Start.Spec.Checkpoint.IsDue(step.Step))
            Checkpoints.Checkpoint(trainer); // checkpoints: snapshot now, write in the background
        return step.EveryRankGoesOn;
    }

    /// <summary>Sends a step's report to the job (retried in the background; the step does not wait); the task ends when it is in.</summary>
    protected Task ReportStep(StepMetrics metrics)
    {
        // Rank 0's report is the job's step, and a first report carries the rank's readiness: those go alone; the others
        // go in the silo's batch.
        var window = _services.Options.ReportBatchWindow;
        var report = Key.Rank == 0 || metrics.ReadySeconds is not null || window == TimeSpan.Zero
            ? _reports.Post(() => _job.ReportStep(Key.Epoch, Key.Rank, metrics))
            : _reports.Post(() => _services.Batcher.Report(Key.JobId, Key.Epoch, Key.Rank, metrics, window));
        if (Start.Spec.Checkpoint.IsDue(metrics.Step)) _reported[metrics.Step] = report;
        return report;
    }
}
