using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Pipeline;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// Pipeline schedules on CPU threads (issue 13): one process with <c>--stages</c> libtorch threads against pp =
/// <c>--stages</c> ranks of one thread each (the same cores), and each schedule's bubble measured from the ranks'
/// recorded timelines next to the published formula evaluated with the measured F, B and W.
/// </summary>
internal static class PipelineBench
{
    public static int Run(BenchOptions options)
    {
        var results = new Results(options.Required("out"));
        var stages = options.Int("stages", 4);
        var microBatches = options.Int("micro-batches", 16);
        var steps = options.Int("steps", 4);
        var config = ConfigLoader.LoadFile(options.Text("config", "deploy/configs/tiny.json"));
        var model = config.Model! with { Layers = options.Int("layers", 8), MtpDepth = 0 };
        var training = config.Training! with { MicroBatchSize = options.Int("rows", 2), GradientAccumulation = microBatches, Threads = 1 };
        var data = new RandomTokens(model.VocabSize, 11);
        results.Add("setup", new JsonObject
        {
            ["stages"] = stages, ["micro_batches"] = microBatches, ["rows"] = training.MicroBatchSize, ["seq_len"] = training.SequenceLength,
            ["layers"] = model.Layers, ["dim"] = model.Dim, ["steps_timed"] = steps - 1, ["tokens_per_step"] = microBatches * training.MicroBatchSize * training.SequenceLength,
        });

        set_num_threads(stages);
        double single;
        using (var trainer = new Trainer(model, training, data, steps))
            single = Median(Enumerable.Range(0, steps).Select(_ => trainer.TrainStep().Seconds).Skip(1));
        var tokens = (double)microBatches * training.MicroBatchSize * training.SequenceLength;
        results.Add("single_process", new JsonObject { ["threads"] = stages, ["step_s"] = single, ["tokens_per_s"] = tokens / single });
        Console.WriteLine($"one process, {stages} threads: {single:F3} s a step, {tokens / single:F0} tokens/s");

        set_num_threads(1);
        foreach (var schedule in PipelineSchedule.All)
        {
            var why = schedule.Refusal(stages, microBatches) ?? (model.Layers < stages * schedule.ChunksPerRank ? "too few layers" : null);
            if (why is not null)
            {
                results.Append("schedules", new JsonObject { ["schedule"] = schedule.Name, ["skipped"] = why });
                continue;
            }

            var figure = Measure(schedule, model, training, data, stages, steps);
            figure["tokens_per_s"] = tokens / figure["step_s"]!.GetValue<double>();
            figure["vs_single_process"] = single / figure["step_s"]!.GetValue<double>();
            results.Append("schedules", figure);
            Console.WriteLine(figure.ToJsonString());
        }

        return 0;
    }

    private static JsonObject Measure(PipelineSchedule schedule, ModelConfig model, TrainingConfig training, IBatchSource data, int stages, int steps)
    {
        using var links = new InProcessStageLinks(stages, TimeSpan.FromMinutes(10));
        using var group = new InProcessGroup(stages);
        var ranks = Enumerable.Range(0, stages).Select(rank => Task.Factory.StartNew(() =>
        {
            set_num_threads(1);
            using var trainer = new PipelineTrainer(model, training, data, steps, schedule, links.Link(rank), group.Collective(rank));
            var timed = new List<(double Seconds, IReadOnlyList<PipelineInterval> Timeline)>();
            for (var s = 0; s < steps; s++)
            {
                var report = trainer.TrainStep();
                if (s > 0) timed.Add((report.Seconds, trainer.LastTimeline));
            }

            return timed;
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(ranks);
        var perRank = ranks.Select(r => r.Result).ToArray();

        // Per timed step: makespan = the latest end over ranks (each rank's clock starts at its program's start, right
        // after the previous step's collectives released them together); bubble = makespan − the rank's compute.
        var fractions = new List<double>();
        var formulas = new List<double>();
        for (var step = 0; step < steps - 1; step++)
        {
            var timelines = perRank.Select(r => r[step].Timeline).ToArray();
            var makespan = timelines.Max(t => t.Max(i => i.End));
            var bubble = timelines.Max(t => makespan - t.Sum(i => i.End - i.Start));
            fractions.Add(bubble / makespan);
            formulas.Add(Formula(schedule.Name, stages, timelines) / makespan);
        }

        var all = perRank.SelectMany(r => r.SelectMany(s => s.Timeline)).ToArray();
        return new JsonObject
        {
            ["schedule"] = schedule.Name,
            ["step_s"] = Median(perRank[0].Select(s => s.Seconds)),
            ["bubble_measured"] = Median(fractions),
            ["bubble_formula_at_measured_costs"] = Median(formulas),
            ["mean_ms"] = new JsonObject
            {
                ["F"] = Mean(all, PipelineOp.Forward) * 1e3, ["B"] = Mean(all, PipelineOp.Backward) * 1e3,
                ["B_input"] = Mean(all, PipelineOp.BackwardInput) * 1e3, ["W"] = Mean(all, PipelineOp.BackwardWeight) * 1e3,
            },
        };
    }

    /// <summary>The published bubble (REFERENCE.md) with this run's mean F, B (input part), W; F&amp;B is F + B (not overlapped here).</summary>
    private static double Formula(string schedule, int pp, IReadOnlyList<IReadOnlyList<PipelineInterval>> timelines)
    {
        var all = timelines.SelectMany(t => t).ToArray();
        var f = Mean(all, PipelineOp.Forward);
        return schedule switch
        {
            "1f1b" => (pp - 1) * (f + Mean(all, PipelineOp.Backward)),
            "zb1p" => (pp - 1) * (f + Mean(all, PipelineOp.BackwardInput) - 2 * Mean(all, PipelineOp.BackwardWeight)),
            "dualpipev" => (pp - 1) * (f + Mean(all, PipelineOp.Backward) + Mean(all, PipelineOp.Backward) - 3 * Mean(all, PipelineOp.BackwardWeight)),
            _ => double.NaN,
        };
    }

    private static double Mean(IEnumerable<PipelineInterval> intervals, PipelineOp op)
    {
        var chosen = intervals.Where(i => i.Action.Op == op).Select(i => i.End - i.Start).ToArray();
        return chosen.Length == 0 ? 0 : chosen.Average();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }
}
