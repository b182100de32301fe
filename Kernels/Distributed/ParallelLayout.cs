namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// How a job's ranks are laid out: <see cref="Stages"/> pipeline stages (pp), each holding <see cref="Dp"/>
/// data-parallel replicas of <see cref="Ep"/> expert-parallel ranks. Rank order is
/// rank = (stage·dp + d)·ep + e, so that with pp = 1 it is the d·ep + e every plan, checkpoint and result
/// has used (nothing that was written before changes).
/// </summary>
public sealed record ParallelLayout
{
    /// <summary>A layout of pp × dp × ep ranks, each holding <paramref name="virtualStages"/> model chunks.</summary>
    /// <param name="ep">Expert-parallel degree: the ranks that share a stage's routed experts.</param>
    /// <param name="dp">Data-parallel degree: the replicas of each expert shard.</param>
    /// <param name="pp">Pipeline stages.</param>
    /// <param name="virtualStages">Model chunks per rank (an interleaved schedule); 1 without one.</param>
    /// <exception cref="ArgumentException">A degree is below 1, chunks are asked of a single stage, or the ranks overflow.</exception>
    public ParallelLayout(int ep, int dp, int pp = 1, int virtualStages = 1)
    {
        Ep = AtLeastOne(ep, nameof(ep));
        Dp = AtLeastOne(dp, nameof(dp));
        Stages = AtLeastOne(pp, nameof(pp));
        VirtualStages = AtLeastOne(virtualStages, nameof(virtualStages));
        // Interleaving passes chunks around the ring of stages; with one stage there is no ring to pass them on.
        if (virtualStages > 1 && pp == 1)
            throw new ArgumentException($"virtualStages {virtualStages} needs pipeline stages (pp > 1; got pp 1)", nameof(virtualStages));
        if ((long)ep * dp * pp > int.MaxValue)
            throw new ArgumentException($"pp × dp × ep = {pp} × {dp} × {ep} ranks do not fit a rank number", nameof(ep));
    }

    /// <summary>Expert-parallel degree (ep).</summary>
    public int Ep { get; }

    /// <summary>Data-parallel degree (dp).</summary>
    public int Dp { get; }

    /// <summary>Pipeline stages (pp).</summary>
    public int Stages { get; }

    /// <summary>Model chunks each rank holds; the pipeline has <see cref="Stages"/> × this virtual stages.</summary>
    public int VirtualStages { get; }

    /// <summary>Ranks the job needs: one device each.</summary>
    public int Ranks => Stages * Dp * Ep;

    /// <summary>Ranks of one pipeline stage: dp × ep.</summary>
    public int RanksPerStage => Dp * Ep;

    /// <summary>The rank at these coordinates.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A coordinate lies outside the layout.</exception>
    public int RankOf(ParallelCoordinates at)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(at.Stage, nameof(at));
        ArgumentOutOfRangeException.ThrowIfNegative(at.Data, nameof(at));
        ArgumentOutOfRangeException.ThrowIfNegative(at.Expert, nameof(at));
        if (at.Stage >= Stages || at.Data >= Dp || at.Expert >= Ep)
            throw new ArgumentOutOfRangeException(nameof(at), at, $"outside the layout pp {Stages} × dp {Dp} × ep {Ep}");
        return (at.Stage * Dp + at.Data) * Ep + at.Expert;
    }

    /// <summary>Where <paramref name="rank"/> sits in the layout.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not one of the layout's.</exception>
    public ParallelCoordinates CoordinatesOf(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, Ranks);
        return new ParallelCoordinates(rank / RanksPerStage, rank / Ep % Dp, rank % Ep);
    }

    private static int AtLeastOne(int value, string field) =>
        value >= 1 ? value : throw new ArgumentException($"{field} must be at least 1 (got {value})", field);
}
