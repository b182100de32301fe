namespace Orchestrator.Kernels.Training.Pipeline;

/// <summary>
/// DualPipeV (DeepSeek's DualPipe "cut in half"): two chunks per rank placed V-wise (rank r runs stages r
/// and 2·pp − 1 − r), so the first rank holds both the embedding and the head. After the warm-up, each
/// forward of one chunk is paired with a backward of the other (<see cref="PipelineAction.OverlapsNext"/>),
/// so that one's all-to-all can run under the other's compute; weight gradients are deferred (a FIFO, like
/// DualPipe's WeightGradStore) in the phases where that fills a wait. Bubble (pp − 1)(F&amp;B + B − 3W) in
/// the published table's terms (its PP is the 2·pp chunks, so PP/2 − 1 = pp − 1).
/// </summary>
public sealed class DualPipeVSchedule : PipelineSchedule
{
    /// <inheritdoc />
    public override string Name => "dualpipev";

    /// <inheritdoc />
    public override int ChunksPerRank => 2;

    /// <inheritdoc />
    public override int VirtualStageOf(int rank, int chunk, int ranks) => chunk == 0 ? rank : 2 * ranks - 1 - rank;

    /// <inheritdoc />
    public override string? Refusal(int ranks, int microBatches) =>
        ranks < 1 ? $"needs at least one stage (got {ranks})"
        : microBatches < 2 * ranks ? $"{Name} needs at least twice as many micro-batches as stages ({microBatches} < 2 × {ranks})"
        : null;

    /// <inheritdoc />
    protected override IEnumerable<PipelineAction> ComputeOrder(int rank, int ranks, int microBatches) =>
        new Program(this, rank, ranks).Run(microBatches);

    // The eight phases of DualPipeV for one rank, with its counters of what each chunk has done so far.
    private sealed class Program(DualPipeVSchedule schedule, int rank, int ranks)
    {
        private readonly int[] _forwards = new int[2];
        private readonly int[] _backwards = new int[2];
        private readonly Queue<(int MicroBatch, int Chunk)> _weights = new();
        private readonly List<PipelineAction> _out = [];

        public List<PipelineAction> Run(int microBatches)
        {
            var n = ranks;
            var r = rank;
            for (var i = 0; i < 2 * (n - r - 1); i++) Forward(0);                   // 1: nF0
            for (var i = 0; i < r + 1; i++) { Forward(0); Forward(1); }             // 2: nF0F1
            for (var i = 0; i < n - r - 1; i++) { Backward(1, true); Weight(); Forward(1); } // 3: nB1W1F1
            for (var i = 0; i < microBatches - 2 * n + r + 1; i++)                   // 4: nF0B1F1B0
            {
                Forward(0, overlapsNext: true); Backward(1, false);
                Forward(1, overlapsNext: true); Backward(0, false);
            }

            for (var i = 0; i < n - r - 1; i++) { Backward(1, false); Forward(1, overlapsNext: true); Backward(0, false); } // 5: nB1F1B0
            var deferred = false;                                                    // 6: nB1B0, the second half deferring W
            for (var i = 0; i < r + 1; i++)
            {
                if (i == (r + 1) / 2 && r % 2 == 1) deferred = true;
                Backward(1, deferred);
                if (i == (r + 1) / 2 && r % 2 == 0) deferred = true;
                Backward(0, deferred);
            }

            for (var i = 0; i < n - r - 1; i++) { Weight(); Backward(0, true); }     // 7: nWB0
            while (_weights.Count > 0) Weight();                                     // 8: nW
            return _out;
        }

        private void Forward(int chunk, bool overlapsNext = false) =>
            _out.Add(schedule.Compute(PipelineOp.Forward, _forwards[chunk]++, chunk, rank, ranks, overlapsNext));

        private void Backward(int chunk, bool deferWeights)
        {
            var m = _backwards[chunk]++;
            _out.Add(schedule.Compute(deferWeights ? PipelineOp.BackwardInput : PipelineOp.Backward, m, chunk, rank, ranks));
            if (deferWeights) _weights.Enqueue((m, chunk));
        }

        private void Weight()
        {
            var (m, chunk) = _weights.Dequeue();
            _out.Add(schedule.Compute(PipelineOp.BackwardWeight, m, chunk, rank, ranks));
        }
    }
}
