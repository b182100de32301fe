using Orchestrator.Kernels.Data;
using Orchestrator.Kernels.Training;

namespace Orchestrator.Benchmarks.Rl;

/// <summary>
/// Pretraining windows cut from the task's own text: every training example (chat prompt, R1 response, end of text) laid
/// end to end in a seeded order, each window a seeded offset into that stream — a pure function of (step, micro-step,
/// row). Plain next-token pretraining on it trains the main model and the MTP module(s) alike (SFT and GRPO train the
/// main model only), so the recipe's model can draft for speculative decoding.
/// </summary>
internal sealed class TaskTextSource : IBatchSource
{
    private readonly int[] _stream;
    private readonly ulong _seed;
    private readonly int _rows;
    private readonly int _window;

    /// <summary>A source of <paramref name="rows"/> × <paramref name="window"/> tokens per micro-batch over <paramref name="examples"/>.</summary>
    public TaskTextSource(IReadOnlyList<int[]> examples, ulong seed, int rows, int window, int vocabSize)
    {
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = SplitMix64.Split(seed, 0x7e47);
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = (int)random.NextBelow((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        _stream = order.SelectMany(i => examples[i]).ToArray();
        if (_stream.Length <= window) throw new ArgumentException($"the task text ({_stream.Length} tokens) is shorter than one window ({window})", nameof(examples));
        (_seed, _rows, _window, VocabSize) = (seed, rows, window, vocabSize);
    }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public void Fill(long step, int microStep, Span<long> destination)
    {
        var random = SplitMix64.Split(_seed, ((ulong)step << 16) ^ (ulong)microStep);
        for (var row = 0; row < _rows; row++)
        {
            var start = (int)random.NextBelow((ulong)(_stream.Length - _window));
            for (var t = 0; t < _window; t++) destination[row * _window + t] = _stream[start + t];
        }
    }
}
