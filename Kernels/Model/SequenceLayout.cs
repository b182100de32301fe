using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Where the examples of packed rows start and end: each token's position within its own example (RoPE restarts at
/// every example) and the attention mask [B, 1, T, T] that lets a token see only earlier tokens of the same example.
/// Without a layout (pretraining) attention is plainly causal over the whole row and positions run 0..T−1.
/// </summary>
public sealed class SequenceLayout : IDisposable
{
    private SequenceLayout(Tensor positions, Tensor mask) => (Positions, Mask) = (positions, mask);

    /// <summary>Positions [B, T] (int64), each within its example.</summary>
    public Tensor Positions { get; }

    /// <summary>Attention mask [B, 1, T, T] (bool, true = may attend): causal and within one example.</summary>
    public Tensor Mask { get; }

    /// <summary>
    /// The layout of <paramref name="rows"/> rows of <paramref name="length"/> tokens from each token's example number
    /// (<paramref name="documents"/>, any id, equal within one example) and position in it, both row-major.
    /// </summary>
    public static SequenceLayout FromDocuments(ReadOnlySpan<long> documents, ReadOnlySpan<long> positions, int rows, int length, Device device)
    {
        if (documents.Length != rows * length || positions.Length != rows * length)
            throw new ArgumentException($"a layout of {rows} rows of {length} tokens needs {rows * length} documents and positions (got {documents.Length}, {positions.Length})");
        using var scope = NewDisposeScope();
        var docs = tensor(documents.ToArray(), [rows, length], ScalarType.Int64, device: device);
        var same = docs.unsqueeze(2).eq(docs.unsqueeze(1));
        var causal = ones(length, length, ScalarType.Bool, device: device).tril();
        var mask = same.logical_and(causal).unsqueeze(1);
        var at = tensor(positions.ToArray(), [rows, length], ScalarType.Int64, device: device);
        return new SequenceLayout(at.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Positions.Dispose();
        Mask.Dispose();
    }
}
