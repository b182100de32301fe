using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Tests.Checkpoints;

/// <summary>Expert-parallel ranks as threads of this process (shared-memory collectives) on a small real dataset.</summary>
internal static class EpRanks
{
    public const int Steps = 6;

    public static RunConfig Config { get; } = ConfigLoader.Parse("""
        {"model": {"vocab_size": 257, "dim": 32, "inter_dim": 64, "moe_inter_dim": 16, "n_layers": 2, "n_dense_layers": 1,
                   "n_heads": 2, "n_routed_experts": 8, "n_shared_experts": 1, "n_activated_experts": 2, "n_expert_groups": 2,
                   "n_limited_groups": 1, "score_func": "sigmoid", "route_scale": 1.0, "q_lora_rank": 16, "kv_lora_rank": 16,
                   "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16, "max_seq_len": 64, "mtp_depth": 1},
         "training": {"seq_len": 16, "micro_batch_size": 2, "warmup_steps": 1, "threads": 1}}
        """);

    /// <summary>Writes a small byte-token dataset under <paramref name="root"/> once.</summary>
    public static string Data(string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, DatasetIndex.FileName))) return data;
        var files = DemoCorpus.Write(Path.Combine(root, "corpus"), 20_000, seed: 3);
        new TokenShardWriter(TokenizerCatalog.Create(ByteTokenizer.CatalogName)).Write(files, data, overwrite: true);
        return data;
    }

    /// <summary>
    /// Runs <paramref name="world"/> ranks; each is built, handed to <paramref name="prepare"/> (a restore),
    /// trained while <c>Step &lt; until</c>, calling <paramref name="afterStep"/> after each step; returns
    /// each rank's losses by step.
    /// </summary>
    public static Dictionary<long, double>[] Run(string data, int world, long until, Action<int, Trainer>? prepare = null, Action<int, Trainer>? afterStep = null)
    {
        var group = new InProcessGroup(world);
        var ranks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            LibTorchRuntime.Initialize();
            var training = Config.Training!;
            using var dataset = TokenDataset.Open(data);
            var window = training.SequenceLength + 1 + Config.Model!.MtpDepth;
            var batches = new DatasetBatchSource(dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation, rank, world);
            var collective = group.Collective(rank);
            var parallel = new ExpertParallelism(collective, ExpertPlacement.Create(Config.Model.RoutedExperts, world));
            using var trainer = new Trainer(Config.Model, training, batches, Steps, parallel);
            try
            {
                prepare?.Invoke(rank, trainer);
            }
            catch (Exception e)
            {
                collective.Abort($"rank {rank} could not be prepared: {e.Message}"); // release the peers waiting in a collective
                throw;
            }

            var losses = new Dictionary<long, double>();
            while (trainer.Step < until)
            {
                var report = trainer.TrainStep();
                losses[report.Step] = report.Loss;
                afterStep?.Invoke(rank, trainer);
            }

            return losses;
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(1)), "the ranks did not finish");
        return [.. ranks.Select(t => t.Result)];
    }
}
