namespace Orchestrator.Kernels.Data;

/// <summary>
/// Picks the token windows of each micro batch as a pure function of (seed, step, micro step,
/// data-parallel rank) and the configuration. No position is carried between calls, so a run
/// resumed at step s reads exactly what the uninterrupted run read at step s.
/// </summary>
/// <remarks>
/// <para>
/// Windows: window w holds tokens [w·(L−1), w·(L−1) + L) for window length L. Inputs are its first
/// L−1 tokens and targets its last L−1, so consecutive windows share one boundary token (the last
/// of one is the first of the next) and every token after the first is a target exactly once per
/// epoch. A trailing remainder shorter than a window is not used.
/// </para>
/// <para>
/// Order: a step holds G = microBatchSize × dataParallelSize × gradientAccumulation rows. Row r of
/// micro step m on rank k of step s is global sample g = (s·A + m)·(B·D) + k·B + r. Sample g is
/// window perm_e[g mod W] with epoch e = g / W, where perm_e is a seeded shuffle of the W windows.
/// Hence every window is used once per epoch and ranks read disjoint rows of the global batch.
/// </para>
/// <para>Not thread-safe: one sampler per training loop (the cached permutation is shared).</para>
/// </remarks>
public sealed class TokenBatchSampler
{
    private readonly TokenDataset _data;
    private readonly ulong _seed;
    private readonly int _microBatchSize;
    private readonly int _dataParallelRank;
    private readonly int _dataParallelSize;
    private readonly int _gradientAccumulation;
    private long _cachedEpoch = -1;
    private int[] _cachedOrder = [];

    /// <summary>Creates a sampler; see the remarks for the order it defines.</summary>
    /// <exception cref="ArgumentException">The configuration is invalid or the dataset is smaller than one global batch.</exception>
    public TokenBatchSampler(
        TokenDataset data,
        ulong seed,
        int windowLength,
        int microBatchSize,
        int dataParallelRank,
        int dataParallelSize,
        int gradientAccumulation = 1)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (windowLength < 2)
        {
            throw new ArgumentOutOfRangeException(
                nameof(windowLength), windowLength, "Window length must be at least 2: one input token and one target.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(microBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dataParallelSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientAccumulation, 1);
        if (dataParallelRank < 0 || dataParallelRank >= dataParallelSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(dataParallelRank), dataParallelRank, $"Rank must be in [0, {dataParallelSize}).");
        }

        var windows = (data.TotalTokens - 1) / (windowLength - 1);
        var globalBatch = (long)microBatchSize * dataParallelSize * gradientAccumulation;
        if (windows < globalBatch)
        {
            throw new ArgumentException(
                $"Dataset too small: its {data.TotalTokens} tokens make {windows} windows of {windowLength}, " +
                $"fewer than one global batch of {globalBatch} windows ({microBatchSize} micro × {dataParallelSize} ranks × {gradientAccumulation} accumulation).",
                nameof(data));
        }

        // The permutation is an int[]; 2^31 windows would be a corpus of several trillion tokens.
        if (windows > Array.MaxLength)
        {
            throw new ArgumentException($"Dataset has {windows} windows; at most {Array.MaxLength} are supported.", nameof(data));
        }

        _data = data;
        _seed = seed;
        WindowLength = windowLength;
        WindowCount = (int)windows;
        _microBatchSize = microBatchSize;
        _dataParallelRank = dataParallelRank;
        _dataParallelSize = dataParallelSize;
        _gradientAccumulation = gradientAccumulation;
    }

    /// <summary>Tokens per row (inputs plus the one-token-shifted targets).</summary>
    public int WindowLength { get; }

    /// <summary>Windows per epoch.</summary>
    public int WindowCount { get; }

    /// <summary>Tokens one <see cref="Sample"/> call writes: microBatchSize × windowLength.</summary>
    public int MicroBatchTokens => _microBatchSize * WindowLength;

    /// <summary>
    /// Fills <paramref name="destination"/> with this rank's micro batch for (step, microStep), row-major
    /// (row i is tokens [i·L, (i+1)·L)).
    /// </summary>
    public void Sample(long step, int microStep, Span<long> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (microStep < 0 || microStep >= _gradientAccumulation)
        {
            throw new ArgumentOutOfRangeException(nameof(microStep), microStep, $"Micro step must be in [0, {_gradientAccumulation}).");
        }

        if (destination.Length != MicroBatchTokens)
        {
            throw new ArgumentException(
                $"Destination holds {destination.Length} tokens; a micro batch is {_microBatchSize} × {WindowLength} = {MicroBatchTokens}.",
                nameof(destination));
        }

        for (var row = 0; row < _microBatchSize; row++)
        {
            var window = WindowOf(GlobalSample(step, microStep, row));
            _data.ReadWindow(window * (WindowLength - 1), destination.Slice(row * WindowLength, WindowLength));
        }
    }

    /// <summary>The window index read by row <paramref name="row"/> of this rank's micro batch (step, microStep).</summary>
    public long WindowIndex(long step, int microStep, int row) => WindowOf(GlobalSample(step, microStep, row));

    private long GlobalSample(long step, int microStep, int row)
    {
        var rowsPerMicroStep = (long)_microBatchSize * _dataParallelSize;
        return checked((((step * _gradientAccumulation) + microStep) * rowsPerMicroStep) + ((long)_dataParallelRank * _microBatchSize) + row);
    }

    private long WindowOf(long globalSample)
    {
        var epoch = globalSample / WindowCount;
        if (epoch != _cachedEpoch)
        {
            _cachedOrder = WindowPermutation.ForEpoch(_seed, epoch, WindowCount);
            _cachedEpoch = epoch;
        }

        return _cachedOrder[globalSample % WindowCount];
    }
}
