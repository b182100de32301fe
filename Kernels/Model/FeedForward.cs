using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>SwiGLU feed-forward: w2(silu(w1·x) ⊙ w3·x). Used for dense layers, shared and routed experts.</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Projection _w1;
    private readonly Projection _w2;
    private readonly Projection _w3;

    private readonly GemmPrecision _precision;

    public FeedForward(string name, int dim, int hidden, GemmPrecision precision) : base(name)
    {
        _precision = precision;
        _w1 = new Projection("w1", dim, hidden, precision);
        _w2 = new Projection("w2", hidden, dim, precision);
        _w3 = new Projection("w3", dim, hidden, precision);
        register_module("w1", _w1);
        register_module("w2", _w2);
        register_module("w3", _w3);
    }

    /// <summary>The gate projection (silu branch), [hidden, dim].</summary>
    public Projection W1 => _w1;

    /// <summary>The down projection, [dim, hidden].</summary>
    public Projection W2 => _w2;

    /// <summary>The up projection (linear branch), [hidden, dim].</summary>
    public Projection W3 => _w3;

    /// <summary>Precision of this feed-forward's GEMM inputs.</summary>
    public GemmPrecision Precision => _precision;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _w2.forward(nn.functional.silu(_w1.forward(x)) * _w3.forward(x)).MoveToOuterDisposeScope();
    }
}
