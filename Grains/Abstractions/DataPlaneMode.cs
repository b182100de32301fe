namespace Orchestrator.Grains;

/// <summary>
/// How a job's ranks exchange tensors (job spec <c>data_plane</c>): <c>auto</c> uses NCCL when every rank
/// is on a CUDA device (and every node loads libnccl), grain calls otherwise; <c>nccl</c> insists on NCCL
/// (the ranks fail with the reason when it cannot be used); <c>grains</c> always uses grain calls.
/// </summary>
[GenerateSerializer]
public enum DataPlaneMode
{
    /// <summary>NCCL when every rank is on a GPU and libnccl loads everywhere; grain calls otherwise.</summary>
    Auto,

    /// <summary>NCCL, or the ranks fail saying why not.</summary>
    Nccl,

    /// <summary>Grain calls (<c>IRankGrain.Deliver</c>) between the ranks' mailboxes.</summary>
    Grains,
}
