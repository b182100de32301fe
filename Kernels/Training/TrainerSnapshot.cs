namespace Orchestrator.Kernels.Training;

/// <summary>
/// A trainer's state at a step boundary, copied out of its tensors: what a rank writes in the
/// background while training goes on.
/// </summary>
/// <param name="State">The scalar state (step, optimizer updates, tokens seen, data position, seed, config).</param>
/// <param name="Entries">The tensors this rank's shard holds, as bytes (<see cref="TrainerShards.ModelPrefix"/> and <see cref="TrainerShards.OptimizerPrefix"/> names).</param>
public sealed record TrainerSnapshot(TrainerState State, IReadOnlyList<ArchiveEntry> Entries)
{
    /// <summary>Total bytes of tensor data.</summary>
    public long Bytes => Entries.Sum(e => (long)e.Data.Length);
}
