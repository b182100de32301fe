using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Grains.Checkpoints;

/// <summary>
/// Which of a rank's tensors go into its shard, so that each tensor is written once per job: the dense
/// share (a bit-identical replica on every rank: the gradient all-reduce gives every rank the same bits)
/// by rank 0 only, the routed experts by the rank that holds them — with dp &gt; 1, by the first of the
/// dp replicas that hold them (the replicas are bit-identical: they apply the same summed gradient); the
/// other replicas write an empty shard, their vote that they reached the step.
/// </summary>
public static class ShardOwnership
{
    /// <summary>The filter on tensor names (without prefix) for the rank whose groups are <paramref name="groups"/>.</summary>
    public static Func<string, bool> For(ParallelGroups groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        return groups.WritesDense ? _ => true
            : !groups.WritesExperts ? _ => false
            : TrainerShards.IsRoutedExpert;
    }
}
