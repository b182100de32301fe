using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Training.Pipeline;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The spec's pipeline fields: <c>parallel.pp</c>, <c>parallel.schedule</c> (1f1b, zb1p, dualpipev; 1f1b
/// when absent), <c>parallel.virtual_stages</c> (the schedule's chunks per rank when absent) and
/// <c>parallel.stage_layers</c> (layers per virtual stage; the even split when absent). Each is checked
/// against the model and the micro-batches (<c>training.gradient_accumulation</c>) so that a pipeline that
/// cannot run is refused at submission naming the field.
/// </summary>
public static partial class JobSpecParser
{
    private static ParallelSpec Pipeline(JsonObject parallel, RunConfig run, int ep, int dp)
    {
        var pp = Integer(parallel, "pp", "parallel.pp", required: false, min: 1) ?? 1;
        var name = NameIn(parallel["schedule"], "parallel.schedule", ScheduleNames("must be the name of a schedule"));
        if (pp == 1)
        {
            foreach (var field in new[] { "schedule", "virtual_stages", "stage_layers" })
                if (parallel[field] is not null) throw new JobSpecException("parallel." + field, "needs pipeline stages (parallel.pp > 1)");
            return new ParallelSpec(ep, dp);
        }

        var schedule = PipelineSchedule.Named(name ?? "1f1b")
            ?? throw new JobSpecException("parallel.schedule", ScheduleNames($"'{name}' is not a schedule"));
        var chunks = Integer(parallel, "virtual_stages", "parallel.virtual_stages", required: false, min: 1) ?? schedule.ChunksPerRank;
        if (chunks != schedule.ChunksPerRank)
            throw new JobSpecException("parallel.virtual_stages", $"{schedule.Name} holds {schedule.ChunksPerRank} chunk(s) per rank (got {chunks})");

        var microBatches = run.Training?.GradientAccumulation ?? new TrainingConfig().GradientAccumulation;
        if (schedule.Refusal(pp, microBatches) is { } why)
            throw new JobSpecException("parallel.schedule", $"{why}; micro-batches per step are training.gradient_accumulation");

        var layers = StageLayers(parallel["stage_layers"]);
        try
        {
            StageSplit.Of(run.Model!.Layers, pp * chunks, layers);
        }
        catch (StageSplitException e)
        {
            throw new JobSpecException(layers is null ? "parallel.pp" : "parallel.stage_layers", e.Message);
        }

        return new ParallelSpec(ep, dp, pp, chunks, schedule.Name, layers is null ? null : string.Join(',', layers));
    }

    /// <summary>What pipeline stages do not run with yet, refused by field.</summary>
    private static void PipelineLimits(JobSpec spec)
    {
        if (spec.DataPlane == DataPlaneMode.Nccl)
            throw new JobSpecException("data_plane", "pipeline stages exchange activations through grain calls for now: \"nccl\" cannot carry them yet (use \"auto\" or \"grains\")");
    }

    private static int[]? StageLayers(JsonNode? node)
    {
        if (node is null) return null;
        const string shape = "must be a list of whole numbers, the layers of each virtual stage in order";
        if (node is not JsonArray list) throw new JobSpecException("parallel.stage_layers", shape);
        return list.Select(item => item is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var n) && n >= 0
            ? n
            : throw new JobSpecException("parallel.stage_layers", $"{shape} (got {item?.ToJsonString() ?? "null"})")).ToArray();
    }

    private static string ScheduleNames(string lead) =>
        $"{lead}: one of {string.Join(", ", PipelineSchedule.All.Select(s => $"\"{s.Name}\""))}";
}
