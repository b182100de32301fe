using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Jobs;

/// <summary>
/// The checkpoint policy's peer snapshots: <c>checkpoint.memory_copies</c> (0, the default: none; 1 or 2 buddy nodes
/// besides the rank's own) and <c>checkpoint.memory_every</c> (steps between snapshots, default 1). Written back only
/// when snapshots are on, so specs stored before them read and write back byte for byte.
/// </summary>
public static partial class JobSpecParser
{
    /// <summary>The most buddy nodes a snapshot is copied to.</summary>
    public const int MaxMemoryCopies = 2;

    private static (int Every, int Copies) Memory(JsonObject checkpoint)
    {
        var copies = Integer(checkpoint, "memory_copies", "checkpoint.memory_copies", required: false, min: 0) ?? 0;
        if (copies > MaxMemoryCopies)
            throw new JobSpecException("checkpoint.memory_copies", $"must be 0 (no peer snapshots), 1 or {MaxMemoryCopies} (got {copies})");
        var every = Integer(checkpoint, "memory_every", "checkpoint.memory_every", required: false, min: 1) ?? 1;
        return (every, copies);
    }

    private static JsonObject CheckpointJson(CheckpointPolicy policy)
    {
        var json = new JsonObject { ["every"] = policy.Every, ["keep"] = policy.Keep, ["keep_every"] = policy.KeepEvery };
        if (policy.MemoryCopies == 0) return json;
        json["memory_every"] = policy.MemoryEvery;
        json["memory_copies"] = policy.MemoryCopies;
        return json;
    }

    /// <summary>Peer snapshots hold a rank's trainer state: pipeline stages and simulated devices have none to hold yet.</summary>
    private static void MemoryLimits(JobSpec spec)
    {
        if (spec.Checkpoint.MemoryCopies == 0) return;
        if (spec.Layout.Stages > 1)
            throw new JobSpecException("checkpoint.memory_copies", $"peer snapshots are not yet supported with pipeline stages (parallel.pp = {spec.Layout.Stages})");
        if (spec.Simulation is not null)
            throw new JobSpecException("checkpoint.memory_copies", "peer snapshots need real ranks; a simulated job has no state to hold");
    }
}
