using System.Globalization;
using Orchestrator.Benchmarks.Training;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Training;
using static TorchSharp.torch;

namespace Orchestrator.Benchmarks.Fp8;

/// <summary>
/// FP8 training against full precision: the tiny config trained twice from one seed on one data
/// order, model.dtype "float32" vs "fp8" (every projection's Fprop, Dgrad and Wgrad through
/// block-scaled E4M3), stepped in turn so that machine noise hits both alike. Reports the
/// relative difference of the final smoothed main loss (DeepSeek-V3: under 0.25 %; our goal 0.1 %).
/// </summary>
internal static class Fp8TrainingExperiment
{
    public const string Command = "fp8-training-experiment";

    public static int Run(string[] args)
    {
        var options = new BenchArgs(args);
        var steps = options.Int("--steps", 500);
        var window = options.Int("--window", 50);
        var started = DateTime.UtcNow;

        LibTorchRuntime.Initialize();
        var (model, training) = BenchWorkspace.LoadConfig(options.String("--config", BenchWorkspace.TinyConfigPath));
        training = training with { Threads = options.Int("--threads", 1) };
        set_num_threads(training.Threads);
        using var data = DemoDataset.Create();
        var window1 = training.SequenceLength + 1 + model.MtpDepth;
        IBatchSource Batches() => new DatasetBatchSource(data.Dataset, training.Seed, window1, training.MicroBatchSize, training.GradientAccumulation);

        using var full = new Trainer(model with { GemmPrecision = "float32" }, training, Batches(), steps);
        // --control: the second run is float32 too, from another initialisation (seed + 1) on the same
        // data order — the run-to-run noise floor that the FP8 difference has to be read against.
        var control = options.Flag("--control");
        using var fp8 = control
            ? new Trainer(model with { GemmPrecision = "float32" }, training with { Seed = training.Seed + 1 }, Batches(), steps)
            : new Trainer(model with { GemmPrecision = "fp8" }, training, Batches(), steps);
        var lossFull = new double[steps];
        var lossFp8 = new double[steps];
        var secondsFull = new double[steps];
        var secondsFp8 = new double[steps];
        for (var s = 0; s < steps; s++)
        {
            var a = full.TrainStep();
            var b = fp8.TrainStep();
            (lossFull[s], secondsFull[s]) = (a.MainLoss, a.Seconds);
            (lossFp8[s], secondsFp8[s]) = (b.MainLoss, b.Seconds);
            if ((s + 1) % 50 == 0) Console.WriteLine($"step {s + 1}: float32 {a.MainLoss:F4}  fp8 {b.MainLoss:F4}");
        }

        // Held-out evaluation: both final models on the same batches (data steps beyond training),
        // which removes the batch-to-batch noise that dominates a smoothed training loss.
        var evalBatches = options.Int("--eval-batches", 16);
        var evalSource = Batches();
        var evalFull = Evaluate(full, evalSource, steps, evalBatches, training.MicroBatchSize * window1);
        var evalFp8 = Evaluate(fp8, evalSource, steps, evalBatches, training.MicroBatchSize * window1);
        var evalRelative = (evalFp8 - evalFull) / evalFull;

        var smoothedFull = lossFull[^window..].Average();
        var smoothedFp8 = lossFp8[^window..].Average();
        var relative = (smoothedFp8 - smoothedFull) / smoothedFull;
        var document = new
        {
            Benchmark = Command,
            SecondRun = control ? "float32, init seed + 1 (control)" : "fp8",
            Machine = MachineInfo.Current(),
            Command = $"dotnet run -c Release --project bench/Benchmarks -- {Command} " + string.Join(' ', args),
            DateUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            LibtorchThreads = get_num_threads(),
            training.Seed,
            Steps = steps,
            SmoothingWindow = window,
            SmoothedMainLoss = new { Float32 = smoothedFull, Fp8 = smoothedFp8 },
            RelativeDifference = relative,
            HeldOutMainLoss = new { Batches = evalBatches, Float32 = evalFull, Fp8 = evalFp8, RelativeDifference = evalRelative },
            Goal = new { RelativeDifferenceBelow = 0.001, DeepSeekV3Reported = 0.0025 },
            MedianStepSeconds = new { Float32 = Median(secondsFull), Fp8 = Median(secondsFp8) },
            MainLossEvery10 = Enumerable.Range(0, steps / 10).Select(i => new { Step = i * 10 + 10, Float32 = lossFull[i * 10 + 9], Fp8 = lossFp8[i * 10 + 9] }),
        };
        var path = BenchWorkspace.WriteResult(options.String("--name", "fp8-training"), started, BenchJson.Serialize(document));
        Console.WriteLine($"smoothed main loss (last {window} of {steps}): float32 {smoothedFull:F5}, fp8 {smoothedFp8:F5}, relative difference {relative:P3}");
        Console.WriteLine($"held-out main loss ({evalBatches} batches): float32 {evalFull:F5}, fp8 {evalFp8:F5}, relative difference {evalRelative:P3}");
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    /// <summary>Mean main loss of the trainer's model on batches of data steps after the training range.</summary>
    private static double Evaluate(Trainer trainer, IBatchSource source, int steps, int batches, int size)
    {
        using var noGrad = no_grad();
        using var recorder = trainer.Model.NewRecorder();
        var buffer = new long[size];
        var total = 0.0;
        for (var b = 0; b < batches; b++)
        {
            source.Fill(steps + 1000 + b, 0, buffer);
            using var windows = tensor(buffer, [size / trainer.WindowLength, trainer.WindowLength], ScalarType.Int64);
            using var loss = trainer.Model.Loss(windows, recorder);
            total += loss.Main.item<float>();
        }
        return total / batches;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
