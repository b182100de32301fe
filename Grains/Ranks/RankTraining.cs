using System.Diagnostics;
using Orchestrator.Grains.Balancing;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.DataPlane;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Ranks;

/// <summary>
/// The work of one rank on its device thread: the trainer on the rank's shard of the job's data,
/// reporting every step. With ep > 1 the rank holds its share of the routed experts and exchanges
/// tokens, gradients and loads with its peers through its data plane (<see cref="RankDataPlane"/>: NCCL
/// between GPU ranks, grain calls through <see cref="RankPeers"/> otherwise).
/// </summary>
internal static class RankTraining
{
    /// <summary>Trains until the last step, the time limit or <paramref name="stop"/>; returns how it ended.</summary>
    /// <param name="start">The job, the rank's place in the plan, and the checkpoint to resume from, if any.</param>
    /// <param name="storageRoot">The storage root shared by the nodes, where checkpoint shards are read and written.</param>
    /// <param name="checkpoints">The rank's asynchronous checkpoint writer.</param>
    /// <param name="report">Called after every step.</param>
    /// <param name="peers">The rank's peers (expert parallelism).</param>
    /// <param name="dataPlane">Builds the rank's collectives (and aborts them when the rank is stopped).</param>
    /// <param name="reportPlane">Told which data plane the rank uses, once it is connected.</param>
    /// <param name="balancer">The job's load balancer (rank 0 asks it for the biases each step).</param>
    /// <param name="epoch">The rank's epoch.</param>
    /// <param name="stop">Stops at the next step boundary.</param>
    public static RankOutcome Run(RankStart start, string storageRoot, AsyncCheckpointer checkpoints, Action<StepMetrics> report, RankPeers peers,
        RankDataPlane dataPlane, Action<DataPlaneDecision> reportPlane, ILoadBalancerGrain balancer, long epoch, CancellationToken stop)
    {
        var spec = start.Spec;
        var config = spec.Run.Config();
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
        // The data plane first: the ranks agree on it before any GPU work (NCCL's set-up selects the GPU itself).
        var parallel = dataPlane.Connect(start, model.RoutedExperts, peers, stop);
        reportPlane(dataPlane.Decision!);
        // A GPU rank computes on its device: the trainer is given it (libtorch's default device, which is
        // process-wide, stays the CPU), and this thread makes it CUDA's current device (kept per host
        // thread) before anything GPU, so the FP8 kernels and cuBLASLt work on it too.
        var device = TorchSharp.torch.CPU;
        if (CudaDevice.IndexOf(start.Assignment.Device) is { } cuda)
        {
            CudaDevice.Select(cuda);
            device = new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, cuda);
        }
        // Rank 0 asks the job's load balancer for the biases each step; the others receive its answer.
        var authority = start.Assignment.Rank == 0 ? new GrainBiasAuthority(balancer, epoch) : null;
        IExpertBiasAuthority biases = parallel is null ? authority! : new BroadcastBiasAuthority(parallel.World, authority);
        using var trainer = new Trainer(model, training, batches, spec.Steps, parallel, biases, device);
        if (start.Resume is { } resume) ShardLoader.Restore(trainer, resume, storageRoot); // checkpoints: load (verified)
        // The balancer starts this epoch from the step and biases the ranks start from (the seed's, or the checkpoint's).
        authority?.Begin(trainer.Step, trainer.Model.MoeLayers.Select(m => m.ExpertBias.cpu().data<float>().ToArray()).ToArray());
        var clock = Stopwatch.StartNew();
        var limit = spec.MaxSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        // Ranks stop together: each votes on going on inside the step (its loss all-reduce carries the votes),
        // so a rank leaving on its own never leaves its peers waiting in a collective, at no extra round trip.
        var goOn = !stop.IsCancellationRequested; // a stopped rank's peers are aborted by the stop itself
        while (goOn && trainer.Step < spec.Steps)
        {
            var step = trainer.TrainStep(() => !stop.IsCancellationRequested && clock.Elapsed < limit);
            goOn = step.EveryRankGoesOn;
            report(new StepMetrics(step.Step, step.Loss, step.TokensPerSecond, step.MaxViolationOverLayers, step.LearningRate, step.Loads)
            {
                StepSeconds = step.Seconds,
                ControlSeconds = authority?.LastRoundTrip.TotalSeconds ?? 0,
                Biases = ExpertBiases.Read(trainer.Model),
            });
            if (spec.Checkpoint.IsDue(step.Step))
                checkpoints.Checkpoint(trainer); // checkpoints: snapshot now, write in the background
        }

        checkpoints.Flush(); // checkpoints: the last write is prepared before the rank reports its end

        return stop.IsCancellationRequested
            ? new RankOutcome(false, null, trainer.Step)
            : new RankOutcome(true, null, trainer.Step);
    }
}
