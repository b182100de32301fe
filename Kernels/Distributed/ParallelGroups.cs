namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// The process groups of one rank of a <see cref="ParallelLayout"/>, worked out in this one place. Numbers:
/// 0 the job; 1 + s·dp + d the EP groups; 1 + pp·dp + s·ep + e the replica groups; 1 + pp·dp + pp·ep the
/// data plane's agreement; then (pp &gt; 1 only) the stage groups and the pipeline groups. With pp = 1 these
/// are the numbers the wire has always carried (1 + d, 1 + dp + e, 1 + ep + dp). A group that spans a
/// wider one is that group (with dp = 1 the EP group is the stage's; with pp = 1 the stage is the job), so
/// no two communicators join the same ranks.
/// </summary>
public sealed class ParallelGroups
{
    /// <summary>The groups of <paramref name="rank"/> in <paramref name="layout"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not one of the layout's.</exception>
    public ParallelGroups(ParallelLayout layout, int rank)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        At = layout.CoordinatesOf(rank);
        Rank = rank;
        var (pp, dp, ep) = (layout.Stages, layout.Dp, layout.Ep);
        var (s, d, e) = (At.Stage, At.Data, At.Expert);
        World = new ProcessGroup(0, Window(0, layout.Ranks, 1));
        Stage = pp == 1 ? World : new ProcessGroup(FirstStageGroup(layout) + s, Window(s * layout.RanksPerStage, layout.RanksPerStage, 1));
        Experts = dp == 1 ? Stage : new ProcessGroup(1 + s * dp + d, Window(layout.RankOf(new(s, d, 0)), ep, 1));
        Replicas = dp == 1 ? null : new ProcessGroup(1 + pp * dp + s * ep + e, Window(layout.RankOf(new(s, 0, e)), dp, ep));
        Pipeline = pp == 1 ? null : new ProcessGroup(FirstStageGroup(layout) + pp + d * ep + e, Window(layout.RankOf(new(0, d, e)), pp, layout.RanksPerStage));
    }

    /// <summary>The layout.</summary>
    public ParallelLayout Layout { get; }

    /// <summary>The job rank.</summary>
    public int Rank { get; }

    /// <summary>The rank's coordinates (stage, replica, place in its EP group).</summary>
    public ParallelCoordinates At { get; }

    /// <summary>Every rank of the job.</summary>
    public ProcessGroup World { get; }

    /// <summary>The ranks of the rank's pipeline stage (the job when pp = 1).</summary>
    public ProcessGroup Stage { get; }

    /// <summary>The ranks that share the stage's routed experts with this one, ep of them (the stage when dp = 1).</summary>
    public ProcessGroup Experts { get; }

    /// <summary>The replicas of the rank's expert shard, dp of them; null when dp = 1 (nothing to sum with).</summary>
    public ProcessGroup? Replicas { get; }

    /// <summary>The rank's pipeline: the ranks of every stage at its replica and EP place, by stage; null when pp = 1.</summary>
    public ProcessGroup? Pipeline { get; }

    /// <summary>The rank of the next stage at the same replica and EP place; null on the last stage.</summary>
    public int? NextStageRank => At.Stage + 1 < Layout.Stages ? Layout.RankOf(At with { Stage = At.Stage + 1 }) : null;

    /// <summary>The rank of the previous stage at the same replica and EP place; null on the first stage.</summary>
    public int? PreviousStageRank => At.Stage > 0 ? Layout.RankOf(At with { Stage = At.Stage - 1 }) : null;

    /// <summary>The rank's share of the data: every rank of a stage trains its own rows of the global batch (EP ranks are data-parallel for the dense layers).</summary>
    public int DataShard => At.Data * Layout.Ep + At.Expert;

    /// <summary>How many shards the data is split into: the ranks of a stage.</summary>
    public int DataShards => Layout.RanksPerStage;

    /// <summary>
    /// Whether the rank writes the checkpoint's dense share of its stage (one copy per stage: the gradient all-reduce
    /// makes every replica's bits equal): the stage's first rank, rank 0 without pipeline stages.
    /// </summary>
    public bool WritesDense => At.Data == 0 && At.Expert == 0;

    /// <summary>Whether the rank writes its expert shard: the first of its replicas (they apply the same summed gradient).</summary>
    public bool WritesExperts => At.Data == 0;

    /// <summary>The virtual stage of the rank's model chunk <paramref name="chunk"/> (interleaved: chunk c of stage s is c·pp + s).</summary>
    public int VirtualStageOf(int chunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunk);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chunk, Layout.VirtualStages);
        return chunk * Layout.Stages + At.Stage;
    }

    /// <summary>Where chunk <paramref name="chunk"/>'s activations go: the rank and chunk of the next virtual stage; null after the last.</summary>
    public (int Rank, int Chunk)? NextOf(int chunk) => Holder(VirtualStageOf(chunk) + 1);

    /// <summary>Where chunk <paramref name="chunk"/>'s input comes from: the rank and chunk of the previous virtual stage; null before the first.</summary>
    public (int Rank, int Chunk)? PreviousOf(int chunk) => Holder(VirtualStageOf(chunk) - 1);

    /// <summary>The one number no group of the layout uses: the data plane's agreement on NCCL (1 + ep + dp when pp = 1).</summary>
    public static int AgreementGroup(ParallelLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return 1 + layout.Stages * layout.Dp + layout.Stages * layout.Ep;
    }

    /// <summary>Every EP group of the layout, by stage then replica (rank order): what the planner places together.</summary>
    public static IEnumerable<ProcessGroup> ExpertGroups(ParallelLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        for (var stage = 0; stage < layout.Stages; stage++)
            for (var replica = 0; replica < layout.Dp; replica++)
                yield return new ParallelGroups(layout, layout.RankOf(new(stage, replica, 0))).Experts;
    }

    private (int Rank, int Chunk)? Holder(int virtualStage) =>
        virtualStage < 0 || virtualStage >= Layout.Stages * Layout.VirtualStages
            ? null
            : (Layout.RankOf(At with { Stage = virtualStage % Layout.Stages }), virtualStage / Layout.Stages);

    private static int FirstStageGroup(ParallelLayout layout) => AgreementGroup(layout) + 1;

    private static int[] Window(int first, int count, int stride)
    {
        var members = new int[count];
        for (var i = 0; i < count; i++) members[i] = first + i * stride;
        return members;
    }
}
