using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Which of a rank's tensors go into its shard, so that each tensor is written once per job: the dense
/// share (a bit-identical replica on every rank: the gradient all-reduce gives every rank the same bits)
/// by rank 0 only, the routed experts by the rank that holds them.
/// </summary>
public static class ShardOwnership
{
    /// <summary>The filter on tensor names (without prefix) for rank <paramref name="rank"/>.</summary>
    public static Func<string, bool> For(int rank) =>
        rank == 0 ? _ => true : TrainerShards.IsRoutedExpert;
}
