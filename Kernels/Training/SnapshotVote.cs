namespace Orchestrator.Kernels.Training;

/// <summary>
/// Where a rank's previous in-memory peer snapshot is, as the rank votes it in a step's loss all-reduce (see
/// <see cref="Trainer.SnapshotState"/>): the ranks learn every rank's state at no extra round trip.
/// </summary>
public enum SnapshotSendState
{
    /// <summary>Every holder has it (or the rank sent nothing: no snapshot yet, or an empty shard).</summary>
    Arrived,

    /// <summary>Still on its way to a holder.</summary>
    InFlight,

    /// <summary>A holder could not be reached: the snapshot is not whole.</summary>
    Failed,
}

/// <summary>Over every rank of a step's loss all-reduce: how many ranks' previous peer snapshots were still on their way, how many failed.</summary>
/// <param name="InFlight">Ranks whose previous snapshot was still being sent when they voted.</param>
/// <param name="Failed">Ranks whose previous snapshot did not reach every holder.</param>
public readonly record struct SnapshotTally(int InFlight, int Failed)
{
    /// <summary>The tally of one rank alone (a run without collectives).</summary>
    public static SnapshotTally Of(SnapshotSendState state) =>
        new(state == SnapshotSendState.InFlight ? 1 : 0, state == SnapshotSendState.Failed ? 1 : 0);

    /// <summary>True when every rank's previous snapshot reached all its holders.</summary>
    public bool AllArrived => InFlight == 0 && Failed == 0;
}
