namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// A pipeline schedule: where each virtual stage runs and, for each rank, the order of its forwards and
/// backwards. <see cref="Build"/> turns that order into the full program by adding the sends and receives
/// between ranks, so every schedule gets its communication the same way and one executor runs them all.
/// </summary>
public abstract class PipelineSchedule
{
    /// <summary>The name <c>parallel.schedule</c> uses.</summary>
    public abstract string Name { get; }

    /// <summary>Model chunks each rank holds.</summary>
    public abstract int ChunksPerRank { get; }

    /// <summary>The schedules a spec may name, by name.</summary>
    public static IReadOnlyList<PipelineSchedule> All { get; } = [new OneFOneBSchedule(), new ZeroBubbleSchedule(), new DualPipeVSchedule()];

    /// <summary>The schedule called <paramref name="name"/>, or null.</summary>
    public static PipelineSchedule? Named(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>The virtual stage that <paramref name="rank"/>'s <paramref name="chunk"/> runs.</summary>
    public abstract int VirtualStageOf(int rank, int chunk, int ranks);

    /// <summary>Why this schedule cannot run <paramref name="microBatches"/> over <paramref name="ranks"/> ranks, or null when it can.</summary>
    public virtual string? Refusal(int ranks, int microBatches) =>
        ranks < 1 ? $"needs at least one stage (got {ranks})"
        : microBatches < ranks ? $"{Name} needs at least as many micro-batches as stages ({microBatches} < {ranks})"
        : null;

    /// <summary>The rank that runs virtual stage <paramref name="stage"/>, and as which chunk.</summary>
    public (int Rank, int Chunk) PlaceOf(int stage, int ranks)
    {
        for (var r = 0; r < ranks; r++)
        for (var c = 0; c < ChunksPerRank; c++)
            if (VirtualStageOf(r, c, ranks) == stage) return (r, c);
        throw new ArgumentOutOfRangeException(nameof(stage), stage, $"{Name} over {ranks} ranks has {ranks * ChunksPerRank} virtual stages");
    }

    /// <summary>Every rank's program for one step.</summary>
    /// <exception cref="ArgumentException">The schedule refuses this shape (see <see cref="Refusal"/>).</exception>
    public PipelinePlan Build(int ranks, int microBatches)
    {
        if (Refusal(ranks, microBatches) is { } why) throw new ArgumentException(why, nameof(microBatches));
        var programs = new List<IReadOnlyList<PipelineAction>>(ranks);
        for (var r = 0; r < ranks; r++) programs.Add(WithCommunication(r, ranks, ComputeOrder(r, ranks, microBatches).ToList()));
        return new PipelinePlan(Name, microBatches, ranks * ChunksPerRank, programs);
    }

    /// <summary>
    /// The rank's forwards and backwards in order (compute actions only). A forward marked
    /// <see cref="PipelineAction.OverlapsNext"/> runs together with the backward right after it.
    /// </summary>
    protected abstract IEnumerable<PipelineAction> ComputeOrder(int rank, int ranks, int microBatches);

    /// <summary>A compute action of chunk <paramref name="chunk"/> on <paramref name="rank"/>.</summary>
    protected PipelineAction Compute(PipelineOp op, int microBatch, int chunk, int rank, int ranks, bool overlapsNext = false) =>
        new(op, microBatch, chunk, VirtualStageOf(rank, chunk, ranks), OverlapsNext: overlapsNext);

    // Receives go right before the compute that needs them and sends right after the compute that made
    // them; an overlapped pair receives both inputs first and sends both outputs after, as DualPipe does.
    private List<PipelineAction> WithCommunication(int rank, int ranks, List<PipelineAction> compute)
    {
        var last = ranks * ChunksPerRank - 1;
        var program = new List<PipelineAction>(compute.Count * 2);
        for (var i = 0; i < compute.Count; i++)
        {
            var group = compute[i].OverlapsNext ? compute.GetRange(i, 2) : compute.GetRange(i, 1);
            i += group.Count - 1;
            foreach (var a in group)
                if (Neighbour(a, receiving: true, rank, ranks, last) is { } from) program.Add(from);
            program.AddRange(group);
            foreach (var a in group)
                if (Neighbour(a, receiving: false, rank, ranks, last) is { } to) program.Add(to);
        }

        return program;
    }

    private PipelineAction? Neighbour(PipelineAction a, bool receiving, int rank, int ranks, int last)
    {
        var forward = a.Op == PipelineOp.Forward;
        if (!forward && a.Op == PipelineOp.BackwardWeight) return null;
        // A forward receives from the stage before and sends to the one after; a backward the other way.
        var other = forward == receiving ? a.Stage - 1 : a.Stage + 1;
        if (other < 0 || other > last) return null;
        var (peer, _) = PlaceOf(other, ranks);
        if (peer == rank) return null;
        var op = (forward, receiving) switch
        {
            (true, true) => PipelineOp.ReceiveActivation,
            (true, false) => PipelineOp.SendActivation,
            (false, true) => PipelineOp.ReceiveGradient,
            (false, false) => PipelineOp.SendGradient,
        };
        return new PipelineAction(op, a.MicroBatch, a.Chunk, a.Stage, peer);
    }
}
