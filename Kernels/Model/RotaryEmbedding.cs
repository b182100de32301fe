using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Rotary position embedding over the decoupled RoPE part of MLA's queries and keys. Pairs are
/// (i, i + d/2) ("rotate half"); the choice is internal, since the rotated parts are never
/// shared with another implementation.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;
    private readonly Tensor _sin;

    /// <summary>The cos/sin tables for <paramref name="maxPositions"/> positions, computed on the CPU and kept on <paramref name="device"/> (default: the CPU).</summary>
    public RotaryEmbedding(int ropeDim, int maxPositions, double theta, Device? device = null)
    {
        var half = ropeDim / 2;
        using var exponents = arange(0, half, dtype: float64, device: CPU).mul(Scalars.Of(2.0 / ropeDim));
        using var bases = full_like(exponents, Scalars.Of(theta));
        using var inverse = bases.pow(exponents).reciprocal();
        using var positions = arange(0, maxPositions, dtype: float64, device: CPU);
        using var angles = outer(positions, inverse);
        using var doubled = cat([angles, angles], 1);
        var target = device ?? CPU;
        _cos = doubled.cos().to(float32).to(target);
        _sin = doubled.sin().to(float32).to(target);
    }

    /// <summary>Rotates <paramref name="x"/> [B, T, H, ropeDim] by its position along T.</summary>
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        var length = x.shape[1];
        if (length > _cos.shape[0])
            throw new ArgumentException($"sequence of {length} positions exceeds model.max_seq_len ({_cos.shape[0]})");
        var cos = _cos.narrow(0, 0, length).unsqueeze(0).unsqueeze(2);
        var sin = _sin.narrow(0, 0, length).unsqueeze(0).unsqueeze(2);
        return Rotate(x, cos, sin).MoveToOuterDisposeScope();
    }

    /// <summary>Rotates <paramref name="x"/> [B, T, H, ropeDim] by the given <paramref name="positions"/> [B, T] (int64; packed rows restart them per example).</summary>
    public Tensor Apply(Tensor x, Tensor positions)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = _cos.shape[1];
        var flat = positions.flatten();
        var cos = _cos.index_select(0, flat).view(b, t, 1, d);
        var sin = _sin.index_select(0, flat).view(b, t, 1, d);
        return Rotate(x, cos, sin).MoveToOuterDisposeScope();
    }

    private static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.shape[^1] / 2;
        var first = x.narrow(-1, 0, half);
        var second = x.narrow(-1, half, half);
        var rotated = cat([-second, first], -1);
        return (x * cos).add(rotated * sin, Scalars.One);
    }

    /// <summary>
    /// Rotates <paramref name="x"/> [B, T, H, ropeDim] by explicit positions <paramref name="positions"/> [B, T] (int64):
    /// the same tables as <see cref="Apply"/>, for decoding where each row sits at its own position.
    /// </summary>
    public Tensor ApplyAt(Tensor x, Tensor positions)
    {
        using var scope = NewDisposeScope();
        long b = positions.shape[0], t = positions.shape[1];
        var flat = positions.flatten();
        var cos = _cos.index_select(0, flat).view(b, t, 1, -1);
        var sin = _sin.index_select(0, flat).view(b, t, 1, -1);
        var half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos).add(rotated * sin, Scalars.One).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}
