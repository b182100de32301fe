using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The spec's <c>faults</c> object, deliberate fault injection for tests and drills: {"nan_step": S, "stall_rank": R,
/// "stall_step": S, "stall_s": s, "checkpoint_fail_step": S, "epoch": E}, each optional. Absent, nothing is injected.
/// </summary>
public static partial class JobSpecParser
{
    private static readonly HashSet<string> FaultFields = ["nan_step", "stall_rank", "stall_step", "stall_s", "checkpoint_fail_step", "epoch"];

    private static FaultInjection? Faults(JsonNode? node, long steps, ParallelSpec layout)
    {
        if (node is null) return null;
        if (node is not JsonObject faults)
            throw new JobSpecException("faults", "must be an object {\"nan_step\": S, \"stall_rank\": R, \"stall_step\": S, \"stall_s\": s, \"checkpoint_fail_step\": S, \"epoch\": E}");
        RejectUnknown(faults, FaultFields, "faults.");
        var nanStep = Integer(faults, "nan_step", "faults.nan_step", required: false, min: 1L);
        if (nanStep > steps) throw new JobSpecException("faults.nan_step", $"step {nanStep} is past the job's last step ({steps})");
        var stallRank = Integer(faults, "stall_rank", "faults.stall_rank", required: false, min: 0);
        var ranks = layout.Ep * layout.Dp;
        if (stallRank >= ranks) throw new JobSpecException("faults.stall_rank", $"the job has ranks 0 to {ranks - 1} (got {stallRank})");
        var stallStep = Integer(faults, "stall_step", "faults.stall_step", required: false, min: 1L) ?? 1;
        var stallSeconds = faults["stall_s"] is { } s ? Number(s, "faults.stall_s") : 0;
        if (!(stallSeconds >= 0) || stallSeconds > 3600)
            throw new JobSpecException("faults.stall_s", $"must be a number of seconds from 0 to 3600 (got {stallSeconds})");
        if (stallRank is null && faults["stall_s"] is not null)
            throw new JobSpecException("faults.stall_rank", "is required with faults.stall_s (which rank stalls)");
        var checkpointFail = Integer(faults, "checkpoint_fail_step", "faults.checkpoint_fail_step", required: false, min: 1L);
        var epoch = Integer(faults, "epoch", "faults.epoch", required: false, min: 1L) ?? 1;
        return new FaultInjection(nanStep, stallRank, stallStep, stallSeconds, checkpointFail, epoch);
    }

    private static JsonObject FaultsJson(FaultInjection faults)
    {
        var json = new JsonObject();
        if (faults.NanStep is { } nan) json["nan_step"] = nan;
        if (faults.StallRank is { } rank)
        {
            json["stall_rank"] = rank;
            json["stall_step"] = faults.StallStep;
            json["stall_s"] = faults.StallSeconds;
        }

        if (faults.CheckpointFailStep is { } checkpoint) json["checkpoint_fail_step"] = checkpoint;
        json["epoch"] = faults.Epoch;
        return json;
    }
}
