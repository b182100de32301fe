using Orchestrator.Kernels.Distributed;

namespace Orchestrator.Grains.DataPlane;

/// <summary>The transport a rank's collectives use.</summary>
public enum DataPlaneKind
{
    /// <summary>A job of one rank: no collective at all.</summary>
    None,

    /// <summary>Grain calls between the ranks' mailboxes (<c>MailboxCollective</c>).</summary>
    Grains,

    /// <summary>NCCL (<c>NcclCollective</c>), its unique id exchanged through <see cref="INcclRendezvousGrain"/>.</summary>
    Nccl,
}

/// <summary>A data plane and why it was chosen.</summary>
/// <param name="Kind">The transport.</param>
/// <param name="Reason">Why, in words (logged and recorded in the job's <c>data-plane</c> event).</param>
public sealed record DataPlaneDecision(DataPlaneKind Kind, string Reason)
{
    /// <summary>How logs and the job's history name it, e.g. <c>nccl (id via grains)</c>.</summary>
    public string Name => Kind switch
    {
        DataPlaneKind.Nccl => "nccl (id via grains)",
        DataPlaneKind.Grains => "grains",
        _ => "none",
    };
}

/// <summary>
/// Chooses a job's data plane. Every rank of an epoch decides from the same inputs (the spec's
/// <c>data_plane</c>, the layout, every rank's device) and then from whether libnccl loads on every rank
/// (the ranks exchange that flag over grain calls first), so all ranks of an epoch agree.
/// </summary>
public static class DataPlaneChoice
{
    /// <summary>
    /// The choice from the plan alone: <see cref="DataPlaneKind.Nccl"/> here means "NCCL if it loads on every rank".
    /// </summary>
    /// <exception cref="DataPlaneException"><c>data_plane</c> is <c>nccl</c> and the plan cannot use it.</exception>
    public static DataPlaneDecision FromPlan(DataPlaneMode mode, ParallelLayout layout, IReadOnlyList<RankAssignment> ranks)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(ranks);
        if (layout.Ranks == 1) return new(DataPlaneKind.None, "one rank: nothing to exchange");
        if (mode == DataPlaneMode.Grains) return new(DataPlaneKind.Grains, "data_plane is grains");
        var problem = NcclProblem(layout, ranks);
        if (problem is null) return new(DataPlaneKind.Nccl, mode == DataPlaneMode.Nccl ? "data_plane is nccl" : "every rank is on its own GPU");
        if (mode == DataPlaneMode.Nccl) throw new DataPlaneException($"data_plane nccl: {problem}");
        return new(DataPlaneKind.Grains, problem);
    }

    /// <summary>
    /// The final choice once every rank said whether libnccl loaded (<paramref name="loaded"/>, by rank; the
    /// same list on every rank).
    /// </summary>
    /// <exception cref="DataPlaneException"><c>data_plane</c> is <c>nccl</c> and a rank could not load libnccl.</exception>
    public static DataPlaneDecision Agree(DataPlaneMode mode, DataPlaneDecision fromPlan, IReadOnlyList<bool> loaded)
    {
        ArgumentNullException.ThrowIfNull(fromPlan);
        ArgumentNullException.ThrowIfNull(loaded);
        if (fromPlan.Kind != DataPlaneKind.Nccl) return fromPlan;
        var missing = Enumerable.Range(0, loaded.Count).Where(r => !loaded[r]).ToArray();
        if (missing.Length == 0) return fromPlan;
        var problem = $"libnccl did not load on rank{(missing.Length == 1 ? "" : "s")} {string.Join(", ", missing)} (set ORCHESTRATOR_NCCL to site-packages/nvidia/nccl/lib)";
        if (mode == DataPlaneMode.Nccl) throw new DataPlaneException($"data_plane nccl: {problem}");
        return new(DataPlaneKind.Grains, problem);
    }

    private static string? NcclProblem(ParallelLayout layout, IReadOnlyList<RankAssignment> ranks)
    {
        var notGpu = ranks.FirstOrDefault(r => !r.Device.StartsWith("cuda:", StringComparison.Ordinal));
        if (notGpu is not null) return $"rank {notGpu.Rank} is on {notGpu.Device}@{notGpu.Node}, not on a GPU";
        var shared = ranks.GroupBy(r => (r.Node, r.Device)).FirstOrDefault(g => g.Count() > 1);
        if (shared is not null) return $"ranks {string.Join(", ", shared.Select(r => r.Rank))} share {shared.Key.Device}@{shared.Key.Node} (NCCL needs one GPU per rank)";
        return null;
    }
}

/// <summary>The job's data plane cannot be used as the spec asks; the rank fails (not retryable) with this reason.</summary>
public sealed class DataPlaneException(string message) : Exception(message);
