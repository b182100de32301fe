using System.Diagnostics;
using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Checkpoints;

/// <summary>
/// Bench (1) of the checkpoint issue. Stall: two trainers of the same config step in turn, one with an
/// asynchronous checkpoint every K steps, one without; the stall is what <see cref="AsyncCheckpointer"/>
/// holds training up (wait for the previous write + snapshot), per checkpointed step and per step, against
/// the step time. Throughput: the shard writer (archive format, SHA-256 on the way, fsync, rename, folder
/// fsync) against <c>dd conv=fsync</c> of the same size into the same folder, alternated.
/// </summary>
internal static class CheckpointStall
{
    public const string Command = "checkpoint-stall";

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var steps = options.Int("--steps", 40);
        var every = options.Int("--every", 5);
        var megabytes = options.Int("--write-mb", 256);
        var rounds = options.Int("--rounds", 3);
        var directory = options.String("--dir", Path.Combine(Path.GetTempPath(), "orchestrator-ckpt-bench"));
        var started = DateTime.UtcNow;
        Directory.CreateDirectory(directory);

        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(options.String("--config", BenchWorkspace.TinyConfigPath));
        training = training with { Threads = options.Int("--threads", 1) };
        set_num_threads(training.Threads);
        using var data = DemoDataset.Create();
        var window = training.SequenceLength + 1 + model.MtpDepth;
        IBatchSource Batches() => new DatasetBatchSource(data.Dataset, training.Seed, window, training.MicroBatchSize, training.GradientAccumulation);
        using var plain = new Trainer(model, training, Batches(), steps);
        using var checkpointed = new Trainer(model, training, Batches(), steps);
        var prepared = new List<PreparedShard>();
        var writer = new AsyncCheckpointer(Path.Combine(directory, "stall"), "bench", 1, new ParallelGroups(new ParallelLayout(1, 1), 0), p => { lock (prepared) prepared.Add(p); }, (_, reason) => throw new IOException(reason));

        var plainSteps = new List<double>();
        var checkpointedSteps = new List<double>();
        var stalls = new List<double>();
        for (var step = 0; step < steps; step++)
        {
            plainSteps.Add(Time(() => plain.TrainStep()));
            var stall = 0.0;
            var seconds = Time(() =>
            {
                checkpointed.TrainStep();
                if (checkpointed.Step % every == 0)
                {
                    writer.Checkpoint(checkpointed);
                    stall = writer.LastStall.TotalSeconds;
                }
            });
            checkpointedSteps.Add(seconds);
            if (checkpointed.Step % every == 0) stalls.Add(stall);
            Console.Error.Write('.');
        }

        writer.Flush();
        Console.Error.WriteLine();
        var stepTime = Stats.Of(plainSteps).Median;
        var stallPerCheckpoint = Stats.Of(stalls);
        var throughput = WriteThroughput(directory, megabytes, rounds);
        var document = new
        {
            Benchmark = Command,
            Machine = MachineInfo.Current(),
            Command = "dotnet run -c Release --project bench/Benchmarks -- " + Command + " " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Directory = directory,
            Config = "deploy/configs/tiny.json",
            Steps = steps,
            CheckpointEvery = every,
            ShardBytes = prepared.Count > 0 ? prepared[^1].Shard.Bytes : 0,
            StepSecondsMedian = stepTime,
            CheckpointedStepSecondsMedian = Stats.Of(checkpointedSteps).Median,
            StallSecondsPerCheckpoint = stallPerCheckpoint,
            StallPerCheckpointOverStep = stallPerCheckpoint.Median / stepTime,
            StallPerStepOverStep = stalls.Sum() / steps / stepTime,
            WriteSecondsMedian = Stats.Of(prepared.Select(p => p.WriteSeconds).ToList()).Median,
            Throughput = throughput,
        };
        var path = BenchWorkspace.WriteResult(Command, started, BenchJson.Serialize(document));
        Console.WriteLine(BenchJson.Serialize(document));
        Console.Error.WriteLine($"wrote {path}");
        return 0;
    }

    private static object WriteThroughput(string directory, int megabytes, int rounds)
    {
        var bytes = (long)megabytes << 20;
        var payload = new byte[bytes];
        new Random(1).NextBytes(payload);
        var entries = new[] { new ArchiveEntry("payload", ScalarType.Byte, [bytes], payload) };
        var shard = new List<double>();
        var dd = new List<double>();
        var root = Path.Combine(directory, "throughput");
        for (var round = 0; round < rounds; round++)
        {
            shard.Add(bytes / Time(() => ShardFile.Write(root, "bench", round + 1, 1, 0, entries)) / 1e6);
            Directory.Delete(root, recursive: true);
            var target = Path.Combine(directory, "dd.bin");
            dd.Add(bytes / Time(() => Dd(target, megabytes)) / 1e6);
            File.Delete(target);
        }

        var shardMb = Stats.Of(shard);
        var ddMb = Stats.Of(dd);
        return new { Megabytes = megabytes, ShardWriterMbPerS = shardMb, DdMbPerS = ddMb, Ratio = shardMb.Median / ddMb.Median,
            DdCommand = $"dd if=/dev/zero of=DIR/dd.bin bs=1M count={megabytes} conv=fsync" };
    }

    private static void Dd(string target, int megabytes)
    {
        var start = new ProcessStartInfo("dd") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "if=/dev/zero", $"of={target}", "bs=1M", $"count={megabytes}", "conv=fsync" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new IOException($"dd exited with {process.ExitCode}");
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
