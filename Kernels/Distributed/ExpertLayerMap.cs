namespace Orchestrator.Kernels.Distributed;

/// <summary>
/// One MoE layer's physical ↔ logical expert map over the ranks of an EP group: <see cref="Slots"/>[s] is the logical
/// expert of physical slot s, and slot s lives on rank s / <see cref="SlotsPerRank"/>. A logical expert held by
/// several ranks has replicas (its hosts, in rank order); two slots of one expert on the same rank are one copy there.
/// The identity map (slot s = expert s, E / EP slots a rank) is the formula placement <see cref="ExpertPlacement"/>.
/// </summary>
public sealed class ExpertLayerMap
{
    private readonly int[][] _hosts;
    private readonly int[][] _held;

    private ExpertLayerMap(int experts, int ranks, int[] slots)
    {
        Experts = experts;
        Ranks = ranks;
        Slots = slots;
        SlotsPerRank = slots.Length / ranks;
        _held = Enumerable.Range(0, ranks)
            .Select(r => slots.Skip(r * SlotsPerRank).Take(SlotsPerRank).Distinct().Order().ToArray()).ToArray();
        _hosts = Enumerable.Range(0, experts)
            .Select(e => Enumerable.Range(0, ranks).Where(r => Array.BinarySearch(_held[r], e) >= 0).ToArray()).ToArray();
    }

    /// <summary>Logical experts per layer.</summary>
    public int Experts { get; }

    /// <summary>Ranks of the EP group.</summary>
    public int Ranks { get; }

    /// <summary>Physical slots of each rank.</summary>
    public int SlotsPerRank { get; }

    /// <summary>The logical expert of each physical slot.</summary>
    public IReadOnlyList<int> Slots { get; }

    /// <summary>True when every expert has one copy, on the rank of the formula placement, so routing is today's.</summary>
    public bool IsIdentity => SlotsPerRank * Ranks == Experts && Slots.Select((e, s) => e == s).All(x => x);

    /// <summary>The formula placement: experts in contiguous ranges of E / EP.</summary>
    public static ExpertLayerMap Identity(ExpertPlacement placement)
    {
        ArgumentNullException.ThrowIfNull(placement);
        return new ExpertLayerMap(placement.Experts, placement.WorldSize, Enumerable.Range(0, placement.Experts).ToArray());
    }

    /// <summary>
    /// A map of <paramref name="slots"/> (the logical expert of each physical slot) over <paramref name="ranks"/> ranks.
    /// </summary>
    /// <exception cref="ArgumentException">The slots do not divide over the ranks, name an expert out of range, or leave one unplaced.</exception>
    public static ExpertLayerMap Create(int experts, int ranks, IReadOnlyList<int> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        if (experts < 1) throw new ArgumentOutOfRangeException(nameof(experts), experts, "a layer needs at least one routed expert");
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "expert parallelism needs at least one rank");
        if (slots.Count < experts || slots.Count % ranks != 0)
            throw new ArgumentException($"{slots.Count} physical slots do not hold {experts} experts in equal shares over {ranks} ranks", nameof(slots));
        if (slots.Any(e => e < 0 || e >= experts))
            throw new ArgumentException($"a slot names expert {slots.First(e => e < 0 || e >= experts)}, outside 0..{experts - 1}", nameof(slots));
        var missing = Enumerable.Range(0, experts).Except(slots).ToArray();
        if (missing.Length > 0) throw new ArgumentException($"experts {string.Join(", ", missing)} have no slot", nameof(slots));
        return new ExpertLayerMap(experts, ranks, [.. slots]);
    }

    /// <summary>The ranks holding a copy of <paramref name="expert"/>, in rank order (replica j is the j-th).</summary>
    public IReadOnlyList<int> Hosts(int expert) => _hosts[expert];

    /// <summary>The logical experts <paramref name="rank"/> holds, in expert order (the order it runs them).</summary>
    public IReadOnlyList<int> Held(int rank) => _held[rank];

    /// <summary>Whether <paramref name="rank"/> holds a copy of <paramref name="expert"/>.</summary>
    public bool Holds(int rank, int expert) => Array.BinarySearch(_held[rank], expert) >= 0;

    /// <summary>Experts with more than one copy, in expert order.</summary>
    public IEnumerable<int> Replicated => Enumerable.Range(0, Experts).Where(e => _hosts[e].Length > 1);

    /// <summary>
    /// The rows of <paramref name="expert"/>'s global sequence (every rank's rows in rank order) that replica
    /// <paramref name="replica"/> runs: contiguous near-equal parts in replica order, the first parts one row longer.
    /// </summary>
    public (long Start, long Count) Part(int expert, int replica, long rows)
    {
        long copies = _hosts[expert].Length;
        long size = rows / copies, extra = rows % copies;
        var start = replica * size + Math.Min(replica, extra);
        return (start, size + (replica < extra ? 1 : 0));
    }

    /// <summary>Each rank's load from the experts' <paramref name="loads"/>: the rows its copies run, an expert's rows shared evenly by its copies.</summary>
    public double[] RankLoads(IReadOnlyList<double> loads)
    {
        ArgumentNullException.ThrowIfNull(loads);
        var result = new double[Ranks];
        for (var e = 0; e < Experts; e++)
            foreach (var host in _hosts[e]) result[host] += loads[e] / _hosts[e].Length;
        return result;
    }
}
