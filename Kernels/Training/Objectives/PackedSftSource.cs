using Orchestrator.Kernels.Data;

namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>
/// The packed rows of a step, a pure function of (step, micro-step): global row g = ((step · accumulation + micro) ·
/// shards + shard) · batch + b, taken from the packing in an order reshuffled every pass over it (epoch) from the
/// seed, so data-parallel ranks read disjoint rows and a resumed run reads what the uninterrupted one would.
/// </summary>
public sealed class PackedSftSource
{
    private readonly SftPacking _packing;
    private readonly ulong _seed;
    private readonly int _accumulation;
    private readonly int _shard;
    private readonly int _shards;
    private long _epoch = -1;
    private int[] _order = [];

    /// <summary>Rows for data shard <paramref name="shard"/> of <paramref name="shards"/>, <paramref name="microBatchSize"/> per micro-batch.</summary>
    public PackedSftSource(SftPacking packing, ulong seed, int microBatchSize, int gradientAccumulation, int shard = 0, int shards = 1, int vocabSize = 0)
    {
        ArgumentNullException.ThrowIfNull(packing);
        ArgumentOutOfRangeException.ThrowIfLessThan(microBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientAccumulation, 1);
        if (shard < 0 || shard >= shards) throw new ArgumentOutOfRangeException(nameof(shard), $"shard {shard} of {shards}");
        (_packing, _seed, MicroBatchSize, _accumulation, _shard, _shards, VocabSize) = (packing, seed, microBatchSize, gradientAccumulation, shard, shards, vocabSize);
    }

    /// <summary>Rows per micro-batch.</summary>
    public int MicroBatchSize { get; }

    /// <summary>Tokens per row.</summary>
    public int RowLength => _packing.RowLength;

    /// <summary>Vocabulary size of the tokenizer the examples were encoded with.</summary>
    public int VocabSize { get; }

    /// <summary>Fills micro-batch × row buffers (row-major) as <see cref="SftPacking.Fill"/> does for one row.</summary>
    public void Fill(long step, int microStep, Span<long> tokens, Span<float> lossMask, Span<long> documents, Span<long> positions)
    {
        int length = RowLength, inputs = RowLength - 1;
        for (var b = 0; b < MicroBatchSize; b++)
        {
            var global = ((step * _accumulation + microStep) * _shards + _shard) * MicroBatchSize + b;
            _packing.Fill(Row(global), tokens.Slice(b * length, length), lossMask.Slice(b * inputs, inputs),
                documents.Slice(b * inputs, inputs), positions.Slice(b * inputs, inputs));
        }
    }

    private int Row(long global)
    {
        var epoch = global / _packing.Rows;
        if (epoch != _epoch)
        {
            _order = Enumerable.Range(0, _packing.Rows).ToArray();
            var random = SplitMix64.Split(_seed, (ulong)epoch);
            for (var i = _order.Length - 1; i > 0; i--)
            {
                var j = (int)random.NextBelow((ulong)(i + 1));
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
            _epoch = epoch;
        }
        return _order[global % _packing.Rows];
    }
}
