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

    /// <summary>Runs <paramref name="body"/> on <paramref name="world"/> ranks whose model is built with <paramref name="map"/> (null: identity).</summary>
    public static T[] Run<T>(int world, ExpertMap? map, int steps, Func<Trainer, int, T> body)
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
            using var trainer = new Trainer(TinyModels.Micro(), training, source, steps, parallel);
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
}
