using Orchestrator.Kernels.Training;

namespace Orchestrator.Kernels.Data;

/// <summary>Feeds a trainer from a token dataset through the deterministic sampler.</summary>
public sealed class DatasetBatchSource : IBatchSource
{
    private readonly TokenBatchSampler _sampler;

    /// <summary>Serves <paramref name="microBatchSize"/> windows of <paramref name="windowLength"/> tokens per micro-step, for one data-parallel rank.</summary>
    public DatasetBatchSource(TokenDataset dataset, ulong seed, int windowLength, int microBatchSize, int gradientAccumulation,
        int dataParallelRank = 0, int dataParallelSize = 1)
    {
        VocabSize = dataset.VocabSize;
        _sampler = new TokenBatchSampler(dataset, seed, windowLength, microBatchSize, dataParallelRank, dataParallelSize, gradientAccumulation);
    }

    public int VocabSize { get; }

    public void Fill(long step, int microStep, Span<long> destination) => _sampler.Sample(step, microStep, destination);
}
