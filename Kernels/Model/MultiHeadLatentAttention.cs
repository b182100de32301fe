using Orchestrator.Kernels.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values pass through low-rank
/// latents; a separate RoPE part of the key is shared by all heads and carries positions, so the
/// compressed latent stays position-free. Causal.
/// </summary>
public sealed class MultiHeadLatentAttention : nn.Module<Tensor, Tensor>
{
    private readonly ModelConfig _config;
    private readonly RotaryEmbedding _rope;
    private readonly Projection? _wq;
    private readonly Projection? _wqA;
    private readonly RmsNorm? _qNorm;
    private readonly Projection? _wqB;
    private readonly Projection _wkvA;
    private readonly RmsNorm _kvNorm;
    private readonly Projection _wkvB;
    private readonly Projection _wo;

    public MultiHeadLatentAttention(string name, ModelConfig config, RotaryEmbedding rope) : base(name)
    {
        _config = config;
        _rope = rope;
        var precision = GemmPrecisionNames.Parse(config.GemmPrecision);
        var queryWidth = config.Heads * config.QkHeadDim;
        if (config.QueryLoraRank > 0)
        {
            _wqA = new Projection("wq_a", config.Dim, config.QueryLoraRank, precision);
            _qNorm = new RmsNorm("q_norm", config.QueryLoraRank, config.NormEps);
            _wqB = new Projection("wq_b", config.QueryLoraRank, queryWidth, precision);
            register_module("wq_a", _wqA);
            register_module("q_norm", _qNorm);
            register_module("wq_b", _wqB);
        }
        else
        {
            _wq = new Projection("wq", config.Dim, queryWidth, precision);
            register_module("wq", _wq);
        }
        _wkvA = new Projection("wkv_a", config.Dim, config.KvLoraRank + config.QkRopeHeadDim, precision);
        _kvNorm = new RmsNorm("kv_norm", config.KvLoraRank, config.NormEps);
        _wkvB = new Projection("wkv_b", config.KvLoraRank, config.Heads * (config.QkNopeHeadDim + config.VHeadDim), precision);
        _wo = new Projection("wo", config.Heads * config.VHeadDim, config.Dim, precision);
        register_module("wkv_a", _wkvA);
        register_module("kv_norm", _kvNorm);
        register_module("wkv_b", _wkvB);
        register_module("wo", _wo);
    }

    /// <summary>x [B, T, dim] → [B, T, dim]; position t attends to positions ≤ t.</summary>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// As <see cref="forward"/>, or with <paramref name="layout"/> (packed rows): RoPE at each token's position in its
    /// example and attention only within the example. Without a layout the ops are exactly <see cref="forward"/>'s.
    /// </summary>
    public Tensor Forward(Tensor x, SequenceLayout? layout)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        int h = _config.Heads, nope = _config.QkNopeHeadDim, ropeDim = _config.QkRopeHeadDim, v = _config.VHeadDim;

        var q = (_wq is not null ? _wq.forward(x) : _wqB!.forward(_qNorm!.forward(_wqA!.forward(x)))).view(b, t, h, nope + ropeDim);
        var qNope = q.narrow(-1, 0, nope);
        var qRope = Rotate(q.narrow(-1, nope, ropeDim), layout);

        var kv = _wkvA.forward(x);
        var latent = kv.narrow(-1, 0, _config.KvLoraRank);
        var kRope = Rotate(kv.narrow(-1, _config.KvLoraRank, ropeDim).unsqueeze(2), layout); // [B, T, 1, rope], one for all heads
        var expanded = _wkvB.forward(_kvNorm.forward(latent)).view(b, t, h, nope + v);
        var kNope = expanded.narrow(-1, 0, nope);
        var value = expanded.narrow(-1, nope, v);

        var query = cat([qNope, qRope], -1).transpose(1, 2);
        var key = cat([kNope, kRope.expand(b, t, h, ropeDim)], -1).transpose(1, 2);
        var attended = layout is null
            ? nn.functional.scaled_dot_product_attention(query, key, value.transpose(1, 2), is_casual: true)
            : nn.functional.scaled_dot_product_attention(query, key, value.transpose(1, 2), attn_mask: layout.Mask);
        var merged = attended.transpose(1, 2).reshape(b, t, h * v);
        return _wo.forward(merged).MoveToOuterDisposeScope();
    }

    private Tensor Rotate(Tensor x, SequenceLayout? layout) => layout is null ? _rope.Apply(x) : _rope.Apply(x, layout.Positions);
}
