using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// A bias-free linear projection y = x·Wᵀ whose product runs in the model's GEMM precision. The
/// weight is an FP32 master; lower precisions cast (or quantise) the inputs of the product only,
/// so gradients and optimiser state stay FP32.
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly GemmPrecision _precision;

    /// <summary>Creates an <paramref name="outFeatures"/>×<paramref name="inFeatures"/> projection (zeros until <see cref="ParameterInit"/> runs).</summary>
    public Projection(string name, int inFeatures, int outFeatures, GemmPrecision precision) : base(name)
    {
        _precision = precision;
        _weight = new Parameter(zeros(outFeatures, inFeatures, float32, device: ModuleDevice.Current));
        register_parameter("weight", _weight);
    }

    /// <summary>Precision of this projection's GEMM inputs.</summary>
    public GemmPrecision Precision => _precision;

    /// <summary>The FP32 master weight, [out, in].</summary>
    public Parameter Weight => _weight;

    public override Tensor forward(Tensor input) => _precision switch
    {
        GemmPrecision.Float32 => nn.functional.linear(input, _weight),
        GemmPrecision.BFloat16 => nn.functional.linear(input.to(bfloat16), _weight.to(bfloat16)).to(float32),
        GemmPrecision.Fp8 => Fp8Projection.Apply(input, _weight),
        _ => throw new InvalidOperationException($"unknown precision {_precision}"),
    };
}
