using Orchestrator.Kernels.Native;
using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// A DeepSeek-V3-style decoder: embedding, <c>n_layers</c> blocks (the first <c>n_dense_layers</c>
/// dense, the rest MoE), final norm, output head, and <c>mtp_depth</c> MTP modules sharing the
/// embedding and head. The main model is complete without the MTP modules.
/// </summary>
public sealed class DeepSeekModel : nn.Module
{
    private readonly ModelConfig _config;
    private readonly RotaryEmbedding _rope;
    private readonly Parameter _embedding;
    private readonly TransformerBlock[] _blocks;
    private readonly RmsNorm _norm;
    private readonly Projection _head;
    private readonly MtpModule[] _mtp;
    private readonly MoeLayer[] _moeLayers;

    /// <summary>Builds the model with weights drawn from (<paramref name="seed"/>, parameter name).</summary>
    /// <remarks>
    /// With <paramref name="parallel"/>, this rank holds only its share of the routed experts. Every module is
    /// built on <paramref name="device"/> (the weights are drawn on the CPU and copied there); null takes
    /// libtorch's process-wide default device once, here; nothing later reads it.
    /// </remarks>
    public DeepSeekModel(ModelConfig config, ulong seed = 0, ExpertParallelism? parallel = null, Device? device = null) : base("deepseek")
    {
        var problems = ConfigValidator.Validate(config);
        if (problems.Count > 0) throw new ConfigException("model config", problems);
        if (parallel?.Map is { } map && map.Layers.Count != config.MoeLayers + config.MtpDepth)
            throw new ArgumentException($"the expert map has {map.Layers.Count} MoE layers; the model has {config.MoeLayers + config.MtpDepth}", nameof(parallel));
        _config = config;
        Parallel = parallel;
        Device = device ?? get_default_device();
        using var building = ModuleDevice.Use(Device);
        _rope = new RotaryEmbedding(config.QkRopeHeadDim, config.MaxSequenceLength, config.RopeTheta, Device);
        _embedding = new Parameter(zeros(config.VocabSize, config.Dim, float32, device: Device));
        register_parameter("embed", _embedding);

        var blocks = new ModuleList<TransformerBlock>();
        _blocks = new TransformerBlock[config.Layers];
        for (var i = 0; i < config.Layers; i++)
        {
            var moeIndex = i < config.DenseLayers ? -1 : i - config.DenseLayers;
            blocks.Add(_blocks[i] = new TransformerBlock($"layer{i}", config, _rope, moeIndex, parallel));
        }
        register_module("layers", blocks);
        _norm = new RmsNorm("norm", config.Dim, config.NormEps);
        _head = new Projection("head", config.Dim, config.VocabSize, GemmPrecision.Float32); // head stays high precision
        register_module("norm", _norm);
        register_module("head", _head);

        var mtp = new ModuleList<MtpModule>();
        _mtp = new MtpModule[config.MtpDepth];
        for (var k = 0; k < config.MtpDepth; k++)
            mtp.Add(_mtp[k] = new MtpModule($"mtp{k}", config, _rope, config.MoeLayers + k, parallel));
        register_module("mtp", mtp);

        ParameterInit.Initialize(this, seed, config.InitStd);
        _moeLayers = _blocks.Select(b => b.Moe).Concat(_mtp.Select(m => m.Block.Moe)).OfType<MoeLayer>().ToArray();
    }

    /// <summary>The device the weights, buffers and position tables live on.</summary>
    public Device Device { get; }

    /// <summary>The rank's share of an expert-parallel model (its collectives, its experts), or null for a whole model.</summary>
    public ExpertParallelism? Parallel { get; }

    public ModelConfig Config => _config;

    /// <summary>True for a routed expert's parameter (held by one rank, not replicated).</summary>
    public static bool IsRoutedExpertParameter(string name) => name.Contains(".moe.experts.", StringComparison.Ordinal);

    /// <summary>Every MoE layer, main model first then MTP modules, in recorder order.</summary>
    public IReadOnlyList<MoeLayer> MoeLayers => _moeLayers;

    /// <summary>A recorder sized for this model.</summary>
    public RoutingRecorder NewRecorder() => new(_moeLayers.Length, Math.Max(_config.RoutedExperts, 1), Device);

    /// <summary>Next-token logits [B, T, V] of the main model for tokens [B, T] (no MTP).</summary>
    public Tensor Logits(Tensor tokens, RoutingRecorder recorder)
    {
        using var scope = NewDisposeScope();
        var logits = _head.forward(_norm.forward(Trunk(Embed(tokens), recorder)));
        recorder.TakeBalanceLoss().Dispose(); // inference: the balance loss is not wanted
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits on windows [B, T + 1 + D]: positions 0..T−1 are inputs; element 0 is the main model's
    /// [B, T, V] (predicting token t+1), element k the MTP depth-k module's (predicting t+k+1 from
    /// the depth k−1 hidden state and the embedding of token t+k).
    /// </summary>
    public IReadOnlyList<Tensor> Forward(Tensor windows, RoutingRecorder recorder)
    {
        using var scope = NewDisposeScope();
        var depth = _config.MtpDepth;
        var length = InputLength(windows);
        var hidden = Trunk(Embed(windows.narrow(1, 0, length)), recorder);
        var logits = new List<Tensor>(depth + 1) { _head.forward(_norm.forward(hidden)) };
        for (var k = 1; k <= depth; k++)
        {
            var module = _mtp[k - 1];
            hidden = module.Forward(hidden, Embed(windows.narrow(1, k, length)), recorder);
            logits.Add(_head.forward(module.Normalize(hidden)));
        }
        return logits.Select(t => t.MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>
    /// Next-token logits [B, T, V] of the main model for training on packed rows (<paramref name="layout"/>: positions and
    /// attention per example; null is plain causal). The step's balance loss stays in <paramref name="recorder"/>.
    /// </summary>
    public Tensor TrainingLogits(Tensor tokens, RoutingRecorder recorder, SequenceLayout? layout)
    {
        using var scope = NewDisposeScope();
        return _head.forward(_norm.forward(Trunk(Embed(tokens), recorder, layout))).MoveToOuterDisposeScope();
    }

    /// <summary>Training loss on windows [B, T + 1 + D]: Main + λ·mean over depths of MTP + balance.</summary>
    public ModelLoss Loss(Tensor windows, RoutingRecorder recorder)
    {
        using var scope = NewDisposeScope();
        var length = InputLength(windows);
        var logits = Forward(windows, recorder);
        var losses = logits.Select((l, k) => CrossEntropy(l, windows.narrow(1, k + 1, length))).ToArray();
        var main = losses[0];
        var mtp = losses.Skip(1).ToArray();
        var balance = recorder.TakeBalanceLoss();
        var total = main.add(balance, Scalars.One);
        if (mtp.Length > 0) total = total.add(stack(mtp).mean().mul(Scalars.Of(_config.MtpLossWeight)), Scalars.One);
        return new ModelLoss(
            total.MoveToOuterDisposeScope(), main.MoveToOuterDisposeScope(),
            mtp.Select(t => t.MoveToOuterDisposeScope()).ToArray(), balance.MoveToOuterDisposeScope());
    }

    private long InputLength(Tensor windows)
    {
        var length = windows.shape[1] - 1 - _config.MtpDepth;
        if (length < 1) throw new ArgumentException($"windows of {windows.shape[1]} tokens are too short for MTP depth {_config.MtpDepth}");
        return length;
    }

    private Tensor Embed(Tensor tokens)
    {
        var shape = tokens.shape;
        return _embedding.index_select(0, tokens.flatten()).view(shape[0], shape[1], _config.Dim);
    }

    private Tensor Trunk(Tensor x, RoutingRecorder recorder, SequenceLayout? layout = null)
    {
        foreach (var block in _blocks) x = block.Forward(x, recorder, layout);
        return x;
    }

    private static Tensor CrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }
}
