using Orchestrator.Kernels.Balancing;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Tests.Support;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Tests.Distributed;

/// <summary>
/// Expert-parallel ranks of the micro model on one in-process group, each training its slice of one global batch
/// (as <see cref="ExpertParallelTrainingTests"/> does), built with a given expert map.
/// </summary>
internal static class ExpertMapRanks
{
    public const int GlobalRows = 8;

    /// <summary>Rank r's rows of the global batch.</summary>
    private sealed class RankSlice(IBatchSource global, int rank, int rowsPerRank, int window) : IBatchSource
    {
        public int VocabSize => global.VocabSize;

        public void Fill(long step, int microStep, Span<long> destination)
        {
            var all = new long[GlobalRows * window];
            global.Fill(step, microStep, all);
            all.AsSpan(rank * rowsPerRank * window, rowsPerRank * window).CopyTo(destination);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="world"/> ranks whose model is built with <paramref name="map"/> (null: identity),
    /// each trainer given the placement authority <paramref name="placement"/> makes for its rank (none by default).
    /// </summary>
    public static T[] Run<T>(int world, ExpertMap? map, int steps, Func<Trainer, int, T> body, Func<int, ExpertParallelism, IExpertPlacementAuthority?>? placement = null)
    {
        var group = new InProcessGroup(world);
        var rows = GlobalRows / world;
        var training = TinyModels.MicroTraining with { MicroBatchSize = rows };
        var window = training.SequenceLength + 2;
        var ranks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            Torch.Ready();
            var parallel = new ExpertParallelism(group.Collective(rank), ExpertPlacement.Create(TinyModels.Micro().RoutedExperts, world)) { Map = map };
            var source = new RankSlice(new PatternBatchSource(257, GlobalRows, window), rank, rows, window);
            using var trainer = new Trainer(TinyModels.Micro(), training, source, steps, parallel) { Placement = placement?.Invoke(rank, parallel) };
            return body(trainer, rank);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(ranks, TimeSpan.FromMinutes(3)), "expert-parallel ranks did not finish");
        return ranks.Select(t => t.Result).ToArray();
    }

    /// <summary>Every routed expert copy <paramref name="rank"/> holds: (MoE layer, expert) → its parameters' values, concatenated.</summary>
    public static Dictionary<(int Layer, int Expert), float[]> Experts(Trainer trainer, int rank)
    {
        var result = new Dictionary<(int, int), float[]>();
        var layers = trainer.Model.MoeLayers;
        for (var layer = 0; layer < layers.Count; layer++)
            foreach (var e in layers[layer].Map!.Held(rank))
                result[(layer, e)] = layers[layer].Expert(e).parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        return result;
    }

    /// <summary>Every expert once, but not where the formula puts it: slot s holds expert 5s mod 16 (4 per rank, none contiguous).</summary>
    public static ExpertMap Permuted(long version) =>
        new(version, Enumerable.Range(0, 2).Select(_ => ExpertLayerMap.Create(16, 4, Enumerable.Range(0, 16).Select(s => 5 * s % 16).ToArray())).ToArray());

    /// <summary>
    /// 20 slots (4 redundant): layer 0 as the rebalancer places skewed loads (hierarchical, 2 nodes), layer 1 by hand —
    /// expert 5 on three ranks, 0 on two, and rank 3's extra slot a second copy of its own expert 12 (one copy there).
    /// </summary>
    public static ExpertMap Replicated(long version)
    {
        var skewed = Enumerable.Range(0, 16).Select(e => e switch { 3 => 90.0, 9 => 60.0, 14 => 40.0, _ => 5.0 + e }).ToArray();
        var placed = ExpertRebalancer.Rebalance([skewed], 20, 4, 2, 4);
        int[] byHand = [0, 1, 2, 3, 5, /**/ 4, 5, 6, 7, 0, /**/ 8, 9, 10, 11, 5, /**/ 12, 13, 14, 15, 12];
        return new ExpertMap(version, [ExpertLayerMap.Create(16, 4, placed.PhysicalToLogical[0]), ExpertLayerMap.Create(16, 4, byHand)]);
    }
}
