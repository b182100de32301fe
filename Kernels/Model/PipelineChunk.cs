using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using Orchestrator.Kernels.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// One virtual pipeline stage of <see cref="DeepSeekModel"/>: its transformer layers, the embedding on the first
/// stage, the final norm, output head and MTP modules on the last. Parameters carry the whole model's names
/// (<c>embed</c>, <c>layers.3.…</c>, <c>head.…</c>, <c>mtp.0.…</c>) and are drawn from (seed, name), so the stages of a
/// split hold exactly the whole model's initial weights. With MTP the last stage also holds a copy of the
/// embedding (the MTP modules embed the shifted tokens); the two copies are kept equal by summing their gradients.
/// </summary>
public sealed class PipelineChunk : nn.Module
{
    private readonly ModelConfig _config;
    private readonly RotaryEmbedding _rope;
    private readonly Parameter? _embedding;
    private readonly TransformerBlock[] _blocks;
    private readonly RmsNorm? _norm;
    private readonly Projection? _head;
    private readonly MtpModule[] _mtp;

    /// <summary>Builds the stage's modules on <paramref name="device"/>, initialised as the whole model would be.</summary>
    /// <remarks>With <paramref name="parallel"/> the stage holds only its EP rank's share of each MoE layer's routed experts.</remarks>
    public PipelineChunk(ModelConfig config, StageLayers stage, ulong seed, Device device, ExpertParallelism? parallel = null) : base($"stage{stage.Stage}")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stage);
        var problems = ConfigValidator.Validate(config);
        if (problems.Count > 0) throw new ConfigException("model config", problems);
        if (stage.FirstLayer < 0 || stage.LayerCount < 1 || stage.FirstLayer + stage.LayerCount > config.Layers)
            throw new ArgumentOutOfRangeException(nameof(stage), stage, $"the model has layers 0 to {config.Layers - 1}");
        _config = config;
        Stage = stage;
        Device = device;
        using var building = ModuleDevice.Use(device);
        _rope = new RotaryEmbedding(config.QkRopeHeadDim, config.MaxSequenceLength, config.RopeTheta, device);
        // Registration order is the whole model's (embed, layers, norm, head, mtp): the gradient norm sums in it.
        if (stage.HoldsEmbedding || (stage.HoldsHead && config.MtpDepth > 0))
        {
            _embedding = new Parameter(zeros(config.VocabSize, config.Dim, float32, device: device));
            register_parameter("embed", _embedding);
        }

        var layers = new LayerSlice();
        _blocks = new TransformerBlock[stage.LayerCount];
        for (var j = 0; j < stage.LayerCount; j++)
        {
            var i = stage.FirstLayer + j;
            _blocks[j] = new TransformerBlock($"layer{i}", config, _rope, i < config.DenseLayers ? -1 : i - config.DenseLayers, parallel);
            layers.Add(i, _blocks[j]);
        }
        register_module("layers", layers);

        _mtp = [];
        if (stage.HoldsHead)
        {
            _norm = new RmsNorm("norm", config.Dim, config.NormEps);
            _head = new Projection("head", config.Dim, config.VocabSize, GemmPrecision.Float32);
            register_module("norm", _norm);
            register_module("head", _head);
            var mtp = new ModuleList<MtpModule>();
            _mtp = new MtpModule[config.MtpDepth];
            for (var k = 0; k < config.MtpDepth; k++) mtp.Add(_mtp[k] = new MtpModule($"mtp{k}", config, _rope, config.MoeLayers + k, parallel));
            register_module("mtp", mtp);
        }

        ParameterInit.Initialize(this, seed, config.InitStd);
        var moe = _blocks.Select((b, j) => (Layer: b.Moe, Index: stage.FirstLayer + j - config.DenseLayers))
            .Concat(_mtp.Select((m, k) => (Layer: m.Block.Moe, Index: config.MoeLayers + k)))
            .Where(x => x.Layer is not null).ToArray();
        MoeLayers = moe.Select(x => x.Layer!).ToArray();
        MoeIndices = moe.Select(x => x.Index).ToArray();
    }

    /// <summary>Which layers this stage holds.</summary>
    public StageLayers Stage { get; }

    /// <summary>The device of the stage's weights.</summary>
    public Device Device { get; }

    /// <summary>The stage's MoE layers in model order (main layers, then MTP modules).</summary>
    public IReadOnlyList<MoeLayer> MoeLayers { get; }

    /// <summary>Each of <see cref="MoeLayers"/>' index among the whole model's MoE layers (the routing recorder's row).</summary>
    public IReadOnlyList<int> MoeIndices { get; }

    /// <summary>True when this stage's embedding is the copy the MTP modules use (the first stage holds the original).</summary>
    public bool HoldsEmbeddingCopy => _embedding is not null && !Stage.HoldsEmbedding;

    /// <summary>
    /// The stage's forward on windows [B, T + 1 + D]: the first stage embeds the inputs, the others continue from
    /// <paramref name="input"/> [B, T, d]. Returns the hidden state [B, T, d] (not the last stage).
    /// </summary>
    public Tensor Hidden(Tensor? input, Tensor windows, RoutingRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(windows);
        using var scope = NewDisposeScope();
        var length = InputLength(windows);
        var x = Stage.HoldsEmbedding ? Embed(windows.narrow(1, 0, length))
            : input ?? throw new ArgumentNullException(nameof(input), $"stage {Stage.Stage} continues from the previous stage's activation");
        foreach (var block in _blocks) x = block.Forward(x, recorder);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The last stage: its layers, then the main and MTP losses on the windows' targets; <c>Total</c> is
    /// main + <paramref name="balance"/> + λ · mean MTP, the whole model's expression.
    /// </summary>
    public ModelLoss Loss(Tensor? input, Tensor windows, RoutingRecorder recorder, Func<Tensor> balance)
    {
        ArgumentNullException.ThrowIfNull(balance);
        if (!Stage.HoldsHead) throw new InvalidOperationException($"stage {Stage.Stage} holds no output head");
        using var scope = NewDisposeScope();
        var length = InputLength(windows);
        var hidden = Hidden(input, windows, recorder);
        var losses = new List<Tensor>(_config.MtpDepth + 1) { CrossEntropy(_head!.forward(_norm!.forward(hidden)), windows.narrow(1, 1, length)) };
        for (var k = 1; k <= _config.MtpDepth; k++)
        {
            var module = _mtp[k - 1];
            hidden = module.Forward(hidden, Embed(windows.narrow(1, k, length)), recorder);
            losses.Add(CrossEntropy(_head.forward(module.Normalize(hidden)), windows.narrow(1, k + 1, length)));
        }

        var main = losses[0];
        var mtp = losses.Skip(1).ToArray();
        var stageBalance = balance();
        var total = main.add(stageBalance, Scalars.One);
        if (mtp.Length > 0) total = total.add(stack(mtp).mean().mul(Scalars.Of(_config.MtpLossWeight)), Scalars.One);
        return new ModelLoss(total.MoveToOuterDisposeScope(), main.MoveToOuterDisposeScope(),
            mtp.Select(t => t.MoveToOuterDisposeScope()).ToArray(), stageBalance.MoveToOuterDisposeScope());
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
        return _embedding!.index_select(0, tokens.flatten()).view(shape[0], shape[1], _config.Dim);
    }

    private static Tensor CrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>The stage's transformer layers registered under their model index ("layers.3" on the stage that holds layer 3).</summary>
    private sealed class LayerSlice() : nn.Module("layers")
    {
        public void Add(int index, TransformerBlock block) => register_module(index.ToString(System.Globalization.CultureInfo.InvariantCulture), block);
    }
}
