using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// One MLA layer at decode time, attending against the latent cache directly (V3 §2.1): W_UK is folded into the
/// query projection (q_lat = x_q · (W_UK·W_Q,nope)ᵀ, one [H·kv_lora, q_in] matrix) and W_UV into the output
/// projection (W_O·W_UV, one [dim, H·kv_lora] matrix), so no per-head key or value is ever formed. The folded
/// matrices are computed once, in FP32, from the model's master weights; the two down-projections (W_DQ, W_DKV)
/// and the norms run as the model runs them.
/// </summary>
internal sealed class AbsorbedLatentAttention : IDisposable
{
    private readonly RotaryEmbedding _rope;
    private readonly Projection? _wqA;
    private readonly RmsNorm? _qNorm;
    private readonly Projection _wkvA;
    private readonly RmsNorm _kvNorm;
    private readonly Tensor _queryLatent;
    private readonly Tensor _queryRope;
    private readonly Tensor _output;
    private readonly int _heads;
    private readonly int _latentDim;
    private readonly int _ropeDim;
    private readonly double _scale;

    public AbsorbedLatentAttention(MultiHeadLatentAttention attention, ModelConfig config, RotaryEmbedding rope)
    {
        _rope = rope;
        _heads = config.Heads;
        _latentDim = config.KvLoraRank;
        _ropeDim = config.QkRopeHeadDim;
        _scale = 1.0 / Math.Sqrt(config.QkHeadDim); // scaled_dot_product_attention's default for the training path
        var children = attention.named_children().ToDictionary(c => c.name, c => c.module);
        Projection Child(string name) => (Projection)children[name];
        Projection queryUp;
        if (config.QueryLoraRank > 0)
        {
            _wqA = Child("wq_a");
            _qNorm = (RmsNorm)children["q_norm"];
            queryUp = Child("wq_b");
        }
        else queryUp = Child("wq");
        _wkvA = Child("wkv_a");
        _kvNorm = (RmsNorm)children["kv_norm"];

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int h = config.Heads, nope = config.QkNopeHeadDim, v = config.VHeadDim, c = config.KvLoraRank;
        var query = queryUp.Weight.detach().view(h, nope + _ropeDim, -1);                 // [H, nope + rope, q_in]
        var up = Child("wkv_b").Weight.detach().view(h, nope + v, c);                      // [H, nope + v, c]
        var wUk = up.narrow(1, 0, nope);                                                    // [H, nope, c]
        var wUv = up.narrow(1, nope, v);                                                    // [H, v, c]
        _queryLatent = matmul(wUk.transpose(1, 2), query.narrow(1, 0, nope)).reshape(h * c, -1).contiguous().MoveToOuterDisposeScope();
        _queryRope = query.narrow(1, nope, _ropeDim).reshape(h * _ropeDim, -1).contiguous().MoveToOuterDisposeScope();
        var wo = Child("wo").Weight.detach().view(-1, h, v);                                // [dim, H, v]
        _output = matmul(wo.transpose(0, 1), wUv).transpose(0, 1).reshape(wo.shape[0], h * c).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Bytes of the folded matrices (held once per layer, not per token).</summary>
    public long WeightBytes => (_queryLatent.NumberOfElements + _queryRope.NumberOfElements + _output.NumberOfElements) * 4;

    /// <summary>
    /// x [B, T, dim] of tokens at <paramref name="positions"/> [B, T]: writes their latents and rope keys into
    /// <paramref name="cache"/>'s layer <paramref name="layer"/> at those slots, then attends each token to the cached
    /// slots at or before its own position (over the first <paramref name="span"/> slots). Returns [B, T, dim].
    /// </summary>
    public Tensor Forward(Tensor x, Tensor positions, LatentKvCache cache, int layer, long span)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var queryIn = _wqA is not null ? _qNorm!.forward(_wqA.forward(x)) : x;
        var qLatent = nn.functional.linear(queryIn, _queryLatent).view(b, t * _heads, _latentDim);
        var qRope = _rope.ApplyAt(nn.functional.linear(queryIn, _queryRope).view(b, t, _heads, _ropeDim), positions).view(b, t * _heads, _ropeDim);

        var kv = _wkvA.forward(x);
        var latent = _kvNorm.forward(kv.narrow(-1, 0, _latentDim));
        var ropeKey = _rope.ApplyAt(kv.narrow(-1, _latentDim, _ropeDim).unsqueeze(2), positions).squeeze(2);
        cache.Write(layer, positions, latent, ropeKey);

        var keys = cache.Latent(layer).narrow(1, 0, span);                                 // [B, S, c]
        var ropeKeys = cache.RopeKey(layer).narrow(1, 0, span);                            // [B, S, rope]
        var scores = matmul(qLatent, keys.transpose(1, 2)).add(matmul(qRope, ropeKeys.transpose(1, 2)), Scalars.One)
            .mul(Scalars.Of(_scale)).view(b, t, _heads, span);
        var slots = arange(span, dtype: ScalarType.Int64, device: x.device).view(1, 1, 1, span);
        var future = slots.gt(positions.view(b, t, 1, 1));
        var weights = scores.masked_fill(future, Scalars.Of(double.NegativeInfinity)).softmax(-1);
        var attended = matmul(weights.view(b, t * _heads, span), keys).view(b, t, _heads * _latentDim);
        return nn.functional.linear(attended, _output).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _queryLatent.Dispose();
        _queryRope.Dispose();
        _output.Dispose();
    }
}
