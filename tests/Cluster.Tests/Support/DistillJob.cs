using System.Text.Json.Nodes;
using Orchestrator.Grains;
using Orchestrator.Grains.Checkpoints;
using Orchestrator.Grains.Distill;
using Orchestrator.Grains.Jobs;
using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;
using Orchestrator.Kernels.Training.Objectives;
using static TorchSharp.torch;

namespace Orchestrator.Cluster.Tests.Support;

/// <summary>Distill specs over the tiny model, and the single-process run a distill job's ranks must equal.</summary>
public static class DistillJob
{
    /// <summary>A pretrain job whose checkpoint is the teacher: the tiny model with room for the prompts and answers.</summary>
    public static JobSpec Teacher(string id, string data, long steps)
    {
        var spec = TinyJob.Spec(id, data, steps);
        spec["model"]!["max_seq_len"] = 128;
        return JobSpecParser.Parse(spec.ToJsonString());
    }

    /// <summary>Short arithmetic prompts, one a line.</summary>
    public static string WritePrompts(string root, string name, int count)
    {
        var path = Path.Combine(root, name);
        File.WriteAllLines(path, Enumerable.Range(1, count).Select(i => $"{{\"prompt\": \"{i}+{i + 2}?\", \"answer\": \"{2 * i + 2}\"}}"));
        return path;
    }

    /// <summary>A distill job of <paramref name="steps"/> steps over 2 data-parallel ranks: a smaller student than the tiny teacher.</summary>
    public static JsonObject Spec(string id, string prompts, CheckpointSource teacher, long steps, double logitWeight, int checkpointEvery = 2)
    {
        var spec = TinyJob.Spec(id, prompts, steps);
        spec["kind"] = "distill";
        var model = spec["model"]!.AsObject();
        (model["dim"], model["inter_dim"], model["n_routed_experts"], model["max_seq_len"]) = (16, 32, 4, 128); // the student is smaller
        spec["training"]!["seq_len"] = 96;
        spec["training"]!["lr"] = 0.002;
        spec["parallel"] = new JsonObject { ["ep"] = 1, ["dp"] = 2 };
        spec["checkpoint"] = new JsonObject { ["every"] = checkpointEvery, ["keep"] = 2 };
        spec["distill"] = new JsonObject
        {
            ["teacher"] = new JsonObject { ["job"] = teacher.JobId, ["step"] = teacher.Step },
            ["logit_weight"] = logitWeight, ["temperature"] = 2.0, ["max_tokens"] = 24, ["sample_temperature"] = 0.8, ["top_p"] = 0.9,
        };
        return spec;
    }

    /// <summary>
    /// The losses of the job's objective in this process on the data set the job wrote: one rank whose two micro-batches
    /// are the two data-parallel ranks' batches (the same rows, each micro-batch's mean loss, the gradients averaged).
    /// </summary>
    public static IReadOnlyList<double> SingleProcessLosses(JobSpec spec, TeacherDataSet data, string storage, CheckpointManifest teacher)
    {
        var config = spec.Run.Config();
        var (model, training) = (config.Model!, config.Training! with { GradientAccumulation = 2 });
        var tokenizer = TokenizerCatalog.Create(spec.Distill!.Tokenizer);
        var row = training.SequenceLength + 1;
        var examples = SftExamples.Load(Path.Combine(storage, data.Path), tokenizer, row);
        var source = new PackedSftSource(new SftPacking(examples, row, training.Seed, tokenizer.EndOfText), training.Seed, training.MicroBatchSize,
            training.GradientAccumulation, vocabSize: tokenizer.VocabSize);
        ITrainingObjective objective = spec.Distill.LogitWeight > 0
            ? new DistillObjective(source, TeacherModel.Load(teacher, storage, CPU), spec.Distill.Temperature, spec.Distill.LogitWeight)
            : new SftObjective(source);
        try
        {
            using var trainer = new Trainer(model, training, objective, spec.Steps);
            return Enumerable.Range(0, (int)spec.Steps).Select(_ => trainer.TrainStep().Loss).ToList();
        }
        finally
        {
            (objective as IDisposable)?.Dispose();
        }
    }
}
