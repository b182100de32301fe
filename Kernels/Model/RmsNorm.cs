using Orchestrator.Kernels.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>Root-mean-square normalisation with a learned per-channel gain, computed in FP32 (by ATen's rms_norm when the native bridge is in use on a GPU).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly double _eps;

    public RmsNorm(string name, int dim, double eps) : base(name)
    {
        _eps = eps;
        _weight = new Parameter(ones(dim, float32, device: ModuleDevice.Current));
        register_parameter("weight", _weight);
    }

    public override Tensor forward(Tensor x)
    {
        if (AtenBridge.Uses(AtenOperations.RmsNorm) && x.device_type == DeviceType.CUDA) return AtenOps.RmsNorm(x, _weight, _eps);
        using var scope = NewDisposeScope();
        var normed = x * rsqrt(x.pow(Scalars.OfInteger(2)).mean([-1], keepdim: true).add(Scalars.Of(_eps), Scalars.One));
        return (normed * _weight).MoveToOuterDisposeScope();
    }
}
