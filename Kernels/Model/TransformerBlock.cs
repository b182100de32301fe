using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>Pre-norm block: h = x + MLA(norm(x)); out = h + FFN(norm(h)), the FFN dense or MoE.</summary>
public sealed class TransformerBlock : nn.Module
{
    private readonly RmsNorm _attentionNorm;
    private readonly MultiHeadLatentAttention _attention;
    private readonly RmsNorm _ffnNorm;
    private readonly FeedForward? _dense;
    private readonly MoeLayer? _moe;
    private readonly int _moeIndex;

    /// <summary>A dense block when <paramref name="moeIndex"/> is negative, else an MoE block reporting under that index.</summary>
    public TransformerBlock(string name, ModelConfig config, RotaryEmbedding rope, int moeIndex, ExpertParallelism? parallel = null) : base(name)
    {
        _attentionNorm = new RmsNorm("attn_norm", config.Dim, config.NormEps);
        _attention = new MultiHeadLatentAttention("attn", config, rope);
        _ffnNorm = new RmsNorm("ffn_norm", config.Dim, config.NormEps);
        register_module("attn_norm", _attentionNorm);
        register_module("attn", _attention);
        register_module("ffn_norm", _ffnNorm);
        _moeIndex = moeIndex;
        if (moeIndex < 0)
        {
            _dense = new FeedForward("ffn", config.Dim, config.InterDim, GemmPrecisionNames.Parse(config.GemmPrecision));
            register_module("ffn", _dense);
        }
        else
        {
            _moe = new MoeLayer("moe", config, parallel, moeIndex);
            register_module("moe", _moe);
        }
    }

    /// <summary>The MoE layer of this block, or null for a dense block.</summary>
    public MoeLayer? Moe => _moe;

    /// <summary>The block on x [B, T, dim]; with <paramref name="layout"/> attention stays within each packed example.</summary>
    public Tensor Forward(Tensor x, RoutingRecorder recorder, SequenceLayout? layout = null)
    {
        using var scope = NewDisposeScope();
        var h = x.add(_attention.Forward(_attentionNorm.forward(x), layout), Scalars.One);
        var normed = _ffnNorm.forward(h);
        var ffn = _moe is not null ? _moe.Forward(normed, recorder, _moeIndex) : _dense!.forward(normed);
        return h.add(ffn, Scalars.One).MoveToOuterDisposeScope();
    }
}
