using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Model;
using Orchestrator.Kernels.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// The decode-time view of a <see cref="DeepSeekModel"/>: the same parameters (read from the model's modules, never
/// copied), with attention run against <see cref="LatentKvCache"/>s through <see cref="AbsorbedLatentAttention"/>.
/// The FFNs and MoE layers are the model's own; MoE layers route as in training (the bias only chooses) and report
/// their loads to a recorder private to this decoder, emptied after every pass, so nothing reaches a trainer or a
/// balancer and no bias moves.
/// </summary>
public sealed class LatentDecoder : IDisposable
{
    private readonly DeepSeekModel _model;
    private readonly RotaryEmbedding _rope;
    private readonly Parameter _embedding;
    private readonly DecodeBlock[] _blocks;
    private readonly RmsNorm _norm;
    private readonly Projection _head;
    private readonly DraftModule[] _mtp;
    private readonly RoutingRecorder _recorder;

    /// <summary>A decoder over <paramref name="model"/>'s weights (on the model's device).</summary>
    public LatentDecoder(DeepSeekModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        var config = model.Config;
        _rope = new RotaryEmbedding(config.QkRopeHeadDim, config.MaxSequenceLength, config.RopeTheta, model.Device);
        var children = model.named_children().ToDictionary(c => c.name, c => c.module);
        _embedding = model.named_parameters().First(p => p.name == "embed").parameter;
        var moeLayers = model.MoeLayers;
        _blocks = ((ModuleList<TransformerBlock>)children["layers"]).Select(b => new DecodeBlock(b, config, _rope, moeLayers)).ToArray();
        _norm = (RmsNorm)children["norm"];
        _head = (Projection)children["head"];
        _mtp = ((ModuleList<MtpModule>)children["mtp"]).Select(m => new DraftModule(m, config, _rope, moeLayers)).ToArray();
        _recorder = model.NewRecorder();
    }

    /// <summary>The model's config.</summary>
    public ModelConfig Config => _model.Config;

    /// <summary>The model's device.</summary>
    public Device Device => _model.Device;

    /// <summary>MTP modules the model has (0 when it was built without).</summary>
    public int MtpDepth => _mtp.Length;

    /// <summary>An empty cache for the main model's layers.</summary>
    public LatentKvCache NewCache(int rows, int capacity) =>
        new(_blocks.Length, rows, capacity, Config.KvLoraRank, Config.QkRopeHeadDim, Device);

    /// <summary>An empty cache for MTP module <paramref name="depth"/> (1-based; one layer).</summary>
    public LatentKvCache NewDraftCache(int depth, int rows, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, _mtp.Length);
        return new(1, rows, capacity, Config.KvLoraRank, Config.QkRopeHeadDim, Device);
    }

    /// <summary>
    /// The main model on <paramref name="tokens"/> [B, T] at <paramref name="positions"/> [B, T], their entries written
    /// into <paramref name="cache"/>: the last hidden state [B, T, dim] (before the final norm, what MTP reads) and the
    /// next-token logits [B, T, V]. Row lengths are the caller's to set.
    /// </summary>
    public (Tensor Hidden, Tensor Logits) Forward(Tensor tokens, Tensor positions, LatentKvCache cache)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var span = Span(positions, cache);
        var x = Embed(tokens);
        for (var l = 0; l < _blocks.Length; l++) x = _blocks[l].Forward(x, positions, cache, l, span, _recorder);
        var logits = _head.forward(_norm.forward(x));
        Forget();
        return (x.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// MTP module <paramref name="depth"/> (1-based) at <paramref name="positions"/>: from the previous depth's hidden
    /// state there and the embedding of <paramref name="shiftedTokens"/> (the tokens <paramref name="depth"/> places
    /// later), its hidden state and logits (predicting the token <paramref name="depth"/> + 1 places later).
    /// </summary>
    public (Tensor Hidden, Tensor Logits) Draft(int depth, Tensor previousHidden, Tensor shiftedTokens, Tensor positions, LatentKvCache cache)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = _mtp[depth - 1];
        var hidden = module.Forward(previousHidden, Embed(shiftedTokens), positions, cache, Span(positions, cache), _recorder);
        var logits = _head.forward(module.Normalize(hidden));
        Forget();
        return (hidden.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    private static long Span(Tensor positions, LatentKvCache cache)
    {
        var span = positions.max().item<long>() + 1;
        if (span > cache.Capacity) throw new ArgumentOutOfRangeException(nameof(positions), span, $"position {span - 1} is past the cache's {cache.Capacity} slots");
        return span;
    }

    private Tensor Embed(Tensor tokens) =>
        _embedding.index_select(0, tokens.flatten()).view(tokens.shape[0], tokens.shape[1], Config.Dim);

    /// <summary>Inference keeps no routing record: loads and balance terms are dropped after each pass.</summary>
    private void Forget()
    {
        _recorder.TakeBalanceLoss().Dispose();
        _recorder.ResetLoads();
    }

    public void Dispose()
    {
        foreach (var b in _blocks) b.Dispose();
        foreach (var m in _mtp) m.Dispose();
        _recorder.Dispose();
        _rope.Dispose();
    }

    /// <summary>A transformer block of the model, its attention absorbed.</summary>
    private sealed class DecodeBlock : IDisposable
    {
        private readonly RmsNorm _attentionNorm;
        private readonly AbsorbedLatentAttention _attention;
        private readonly RmsNorm _ffnNorm;
        private readonly FeedForward? _dense;
        private readonly MoeLayer? _moe;
        private readonly int _moeIndex;

        public DecodeBlock(TransformerBlock block, ModelConfig config, RotaryEmbedding rope, IReadOnlyList<MoeLayer> moeLayers)
        {
            var children = block.named_children().ToDictionary(c => c.name, c => c.module);
            _attentionNorm = (RmsNorm)children["attn_norm"];
            _attention = new AbsorbedLatentAttention((MultiHeadLatentAttention)children["attn"], config, rope);
            _ffnNorm = (RmsNorm)children["ffn_norm"];
            _moe = block.Moe;
            _dense = _moe is null ? (FeedForward)children["ffn"] : null;
            _moeIndex = _moe is null ? -1 : moeLayers.ToList().IndexOf(_moe);
        }

        public Tensor Forward(Tensor x, Tensor positions, LatentKvCache cache, int layer, long span, RoutingRecorder recorder)
        {
            using var scope = NewDisposeScope();
            var h = x.add(_attention.Forward(_attentionNorm.forward(x), positions, cache, layer, span), Scalars.One);
            var normed = _ffnNorm.forward(h);
            var ffn = _moe is not null ? _moe.Forward(normed, recorder, _moeIndex) : _dense!.forward(normed);
            return h.add(ffn, Scalars.One).MoveToOuterDisposeScope();
        }

        public void Dispose() => _attention.Dispose();
    }

    /// <summary>An MTP module: norms, the 2d → d projection, its block (absorbed), its output norm.</summary>
    private sealed class DraftModule : IDisposable
    {
        private readonly MtpModule _module;
        private readonly RmsNorm _hiddenNorm;
        private readonly RmsNorm _embeddingNorm;
        private readonly Projection _projection;
        private readonly DecodeBlock _block;

        public DraftModule(MtpModule module, ModelConfig config, RotaryEmbedding rope, IReadOnlyList<MoeLayer> moeLayers)
        {
            _module = module;
            var children = module.named_children().ToDictionary(c => c.name, c => c.module);
            _hiddenNorm = (RmsNorm)children["hnorm"];
            _embeddingNorm = (RmsNorm)children["enorm"];
            _projection = (Projection)children["eh_proj"];
            _block = new DecodeBlock(module.Block, config, rope, moeLayers);
        }

        public Tensor Forward(Tensor previousHidden, Tensor embedding, Tensor positions, LatentKvCache cache, long span, RoutingRecorder recorder)
        {
            using var scope = NewDisposeScope();
            var joined = cat([_hiddenNorm.forward(previousHidden), _embeddingNorm.forward(embedding)], -1);
            return _block.Forward(_projection.forward(joined), positions, cache, 0, span, recorder).MoveToOuterDisposeScope();
        }

        public Tensor Normalize(Tensor hidden) => _module.Normalize(hidden);

        public void Dispose() => _block.Dispose();
    }
}
