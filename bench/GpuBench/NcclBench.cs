using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Gpu;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// One rank of the NCCL checks (run once per GPU, each process seeing its GPU as cuda:0): the id is
/// handed over by file, then all-to-all with uneven counts must move exactly the right rows,
/// all-reduce and all-gather must give the right values, P4 times all-to-all at several sizes, and
/// an EP=2 training run over NCCL is compared with the single-process run on the same global batch.
/// </summary>
internal static class NcclBench
{
    private static readonly Device Cuda = new(DeviceType.CUDA, 0);

    public static int Run(BenchOptions options)
    {
        var rank = options.Int("rank", 0);
        var world = options.Int("world", 2);
        var idFile = options.Required("id-file");
        var results = new Results(options.Required("out"));
        if (!NcclNative.TryLoad()) throw new InvalidOperationException($"libnccl {NcclNative.Status}");
        Results.Say($"rank {rank}: libnccl {NcclNative.Status}");
        set_default_device(Cuda);
        using var collective = new NcclCollective(ExchangeId(rank, idFile), rank, world, 0);
        var failures = Correctness(collective, results);
        Bandwidth(collective, results);
        var config = options.Text("ep-config", "");
        if (config.Length > 0) failures += ExpertParallelTraining(collective, config, options.Required("data"), options.Int("ep-steps", 20), results);
        Results.Say($"rank {rank}: nccl checks {failures} failed");
        results.Add("failed_checks", failures);
        return failures == 0 ? 0 : 1;
    }

    private static byte[] ExchangeId(int rank, string path)
    {
        if (rank == 0)
        {
            var id = NcclNative.CreateUniqueId();
            File.WriteAllBytes(path + ".tmp", id);
            File.Move(path + ".tmp", path, overwrite: true);
            return id;
        }
        var clock = Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(120)) throw new TimeoutException($"rank {rank}: no NCCL id at '{path}' after 120 s");
            Thread.Sleep(20);
        }
        return File.ReadAllBytes(path);
    }

    private static int Correctness(NcclCollective c, Results results)
    {
        using var scope = NewDisposeScope();
        const int width = 256;
        int rank = c.Rank, world = c.WorldSize;
        var send = Enumerable.Range(0, world).Select(peer => 3L + (5 * rank) + (7 * peer)).ToArray();
        var receive = Enumerable.Range(0, world).Select(source => 3L + (5 * source) + (7 * rank)).ToArray();
        var rows = cat(Enumerable.Range(0, world).Select(peer => Tag(rank, peer, send[peer], width)).ToList(), 0);
        var received = c.AllToAll(rows, send, receive).cpu();
        var expected = cat(Enumerable.Range(0, world).Select(source => Tag(source, rank, receive[source], width)).ToList(), 0).cpu();
        var allToAll = received.shape.SequenceEqual(expected.shape) && received.eq(expected).all().item<bool>();

        var summed = full(1000, width, Scalars.Of(rank + 1.0), device: Cuda);
        c.AllReduceSum(summed);
        var allReduce = summed.eq(Scalars.Of(world * (world + 1) / 2.0)).all().item<bool>();

        var gathered = c.AllGather([rank, 10L * rank, -rank]);
        var allGather = Enumerable.Range(0, world).All(r => gathered[r].SequenceEqual(new[] { (long)r, 10L * r, -r }));

        var ok = allToAll && allReduce && allGather;
        Results.Say($"{(ok ? "PASS" : "FAIL")} rank {rank}: all-to-all rows {(allToAll ? "right" : "WRONG")} ({string.Join("/", receive)} received), all-reduce {(allReduce ? "right" : "WRONG")}, all-gather {(allGather ? "right" : "WRONG")}");
        results.Add("correctness", new JsonObject { ["all_to_all"] = allToAll, ["all_reduce"] = allReduce, ["all_gather"] = allGather, ["received_counts"] = string.Join(",", receive) });
        return ok ? 0 : 1;
    }

    // Row i sent from rank s to rank d holds s·10⁶ + d·10³ + i + column/1000 (exact in float32 for these sizes).
    private static Tensor Tag(int source, int destination, long count, int width) =>
        (arange(0, count, dtype: ScalarType.Float32, device: Cuda).unsqueeze(1) + arange(0, width, dtype: ScalarType.Float32, device: Cuda).div(Scalars.Of(1000.0)).unsqueeze(0))
        .add(Scalars.Of((source * 1e6) + (destination * 1e3)));

    private static void Bandwidth(NcclCollective c, Results results)
    {
        const int hidden = 7168; // V3's hidden size: one row is one token's activation
        foreach (var megabytes in new[] { 8, 64, 256, 1024 })
        {
            using var scope = NewDisposeScope();
            var rowsPerPeer = megabytes * (1L << 20) / (hidden * 2) / c.WorldSize;
            var counts = Enumerable.Repeat(rowsPerPeer, c.WorldSize).ToArray();
            var rows = randn(rowsPerPeer * c.WorldSize, hidden, device: Cuda).to(ScalarType.BFloat16);
            var ms = Timing.MedianMs(() => { using var r = c.AllToAll(rows, counts, counts); }, warmups: 5, repetitions: 20);
            var bytes = (double)rows.numel() * 2;
            var algorithmBandwidth = bytes / (ms * 1e-3) / 1e9;
            var busBandwidth = algorithmBandwidth * (c.WorldSize - 1) / c.WorldSize;
            Results.Say($"P4 ours rank {c.Rank}: all-to-all {bytes / 1e6:F0} MB per rank in {ms:F3} ms: {algorithmBandwidth:F0} GB/s algorithm, {busBandwidth:F0} GB/s bus");
            results.Append("p4_all_to_all", new JsonObject { ["bytes_per_rank"] = bytes, ["ms"] = ms, ["algbw_gb_per_s"] = algorithmBandwidth, ["busbw_gb_per_s"] = busBandwidth });
        }
    }

    // EP = 2 over NCCL against one process training the same global batch with all the experts.
    private static int ExpertParallelTraining(NcclCollective c, string configPath, string dataPath, int steps, Results results)
    {
        var run = ConfigLoader.LoadFile(configPath);
        var model = run.Model!;
        var training = run.Training ?? new TrainingConfig();
        using var dataset = TokenDataset.Open(dataPath);
        var window = training.SequenceLength + 1 + model.MtpDepth;
        var parallel = new ExpertParallelism(c, ExpertPlacement.Create(model.RoutedExperts, c.WorldSize));
        var epLosses = new List<double>();
        var clock = Stopwatch.StartNew();
        using (var trainer = new Trainer(model, training, new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, 1, c.Rank, c.WorldSize), steps, parallel))
        {
            for (var s = 0; s < steps; s++) epLosses.Add(trainer.TrainStep().Loss);
        }
        var epSeconds = clock.Elapsed.TotalSeconds;
        if (c.Rank != 0) return 0;
        var single = training with { MicroBatchSize = training.MicroBatchSize * c.WorldSize };
        List<double> SingleRun()
        {
            using var trainer = new Trainer(model, single, new DatasetBatchSource(dataset, training.Seed, window, single.MicroBatchSize, 1), steps);
            return Enumerable.Range(0, steps).Select(_ => trainer.TrainStep().Loss).ToList();
        }
        var singleLosses = SingleRun();
        // CUDA's scatter/index_add kernels are not deterministic: a second single-process run gives the
        // noise floor the EP run is judged against after the first step.
        var again = SingleRun();
        static double Worst(List<double> a, List<double> b) => a.Zip(b, (x, y) => Math.Abs(x - y) / Math.Abs(y)).Max();
        var worst = Worst(epLosses, singleLosses);
        var noise = Worst(again, singleLosses);
        var first = Math.Abs(epLosses[0] - singleLosses[0]) / Math.Abs(singleLosses[0]);
        var ok = first < 1e-5 && worst <= Math.Max(10 * noise, 1e-4);
        Results.Say($"{(ok ? "PASS" : "FAIL")} EP=2 over NCCL ({steps} steps, {epSeconds:F1} s) vs one process: step 1 {first:E2}, largest relative loss difference {worst:E2} (two single-process runs differ by up to {noise:E2}); last {epLosses[^1]:F5} vs {singleLosses[^1]:F5}");
        results.Add("ep2_training", new JsonObject
        {
            ["steps"] = steps, ["ep_seconds"] = epSeconds, ["first_step_relative_difference"] = first,
            ["max_relative_loss_difference"] = worst, ["single_vs_single_max_relative_difference"] = noise, ["pass"] = ok,
            ["ep_losses"] = new JsonArray(epLosses.Select(l => (JsonNode)l).ToArray()),
            ["single_losses"] = new JsonArray(singleLosses.Select(l => (JsonNode)l).ToArray()),
            ["single_again_losses"] = new JsonArray(again.Select(l => (JsonNode)l).ToArray()),
        });
        return ok ? 0 : 1;
    }
}
