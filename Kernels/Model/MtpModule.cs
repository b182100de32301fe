using Orchestrator.Kernels.Configuration;
using Orchestrator.Kernels.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// One multi-token-prediction module (V3 §2.2): combines the previous depth's hidden state at
/// position i with the embedding of token i+k, projects 2d → d, runs one transformer block and
/// predicts token i+k+1 through the shared output head.
/// </summary>
public sealed class MtpModule : nn.Module
{
    private readonly RmsNorm _hiddenNorm;
    private readonly RmsNorm _embeddingNorm;
    private readonly Projection _projection;
    private readonly TransformerBlock _block;
    private readonly RmsNorm _outputNorm;

    public MtpModule(string name, ModelConfig config, RotaryEmbedding rope, int moeIndex, ExpertParallelism? parallel = null) : base(name)
    {
        _hiddenNorm = new RmsNorm("hnorm", config.Dim, config.NormEps);
        _embeddingNorm = new RmsNorm("enorm", config.Dim, config.NormEps);
        _projection = new Projection("eh_proj", 2 * config.Dim, config.Dim, GemmPrecisionNames.Parse(config.GemmPrecision));
        _block = new TransformerBlock("block", config, rope, moeIndex, parallel);
        _outputNorm = new RmsNorm("norm", config.Dim, config.NormEps);
        register_module("hnorm", _hiddenNorm);
        register_module("enorm", _embeddingNorm);
        register_module("eh_proj", _projection);
        register_module("block", _block);
        register_module("norm", _outputNorm);
    }

    /// <summary>The block of this module (its MoE layer takes part in balancing).</summary>
    public TransformerBlock Block => _block;

    /// <summary>Returns the new hidden state h_k [B, T, d] (before the output norm).</summary>
    public Tensor Forward(Tensor previousHidden, Tensor shiftedEmbedding, RoutingRecorder recorder)
    {
        using var scope = NewDisposeScope();
        var joined = cat([_hiddenNorm.forward(previousHidden), _embeddingNorm.forward(shiftedEmbedding)], -1);
        return _block.Forward(_projection.forward(joined), recorder).MoveToOuterDisposeScope();
    }

    /// <summary>The output norm applied before the shared head.</summary>
    public Tensor Normalize(Tensor hidden) => _outputNorm.forward(hidden);
}
