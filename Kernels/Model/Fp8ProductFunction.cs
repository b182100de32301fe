using Orchestrator.Kernels.Native;
using static TorchSharp.torch;

namespace Orchestrator.Kernels.Model;

/// <summary>
/// The autograd shape every FP8 product shares: y = f(x, W) forward, (dx, dW) from the saved x and W
/// and the output gradient backward. The emulated, the GPU and the grouped-expert products differ only
/// in their GEMMs (<see cref="Product"/>, <see cref="Gradients"/>); the bookkeeping around them is here
/// once — the dispose scope, saving the inputs, and handing the gradients TorchSharp wraps (and the
/// ones returned) to <see cref="BackwardTensors"/>, so none is left to the finalizer on a GPU.
/// </summary>
/// <typeparam name="TSelf">The concrete product (TorchSharp keeps one instance per function type).</typeparam>
internal abstract class Fp8ProductFunction<TSelf> : autograd.MultiTensorFunction<TSelf>
    where TSelf : Fp8ProductFunction<TSelf>, new()
{
    /// <summary>The forward product of <paramref name="input"/> and <paramref name="weight"/>, inside the function's scope.</summary>
    protected abstract Tensor Product(Tensor input, Tensor weight);

    /// <summary>dx (shaped as <paramref name="input"/>) and dW (shaped as <paramref name="weight"/>) from the output gradient.</summary>
    protected abstract (Tensor Input, Tensor Weight) Gradients(Tensor input, Tensor weight, Tensor outputGradient);

    /// <inheritdoc />
    public sealed override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        using var scope = NewDisposeScope();
        var output = Product(input, weight);
        ctx.save_for_backward([input, weight]);
        return [output.MoveToOuterDisposeScope()];
    }

    /// <inheritdoc />
    public sealed override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        // The wrappers TorchSharp made for the gradients, and the unpacked saved tensors, are released after
        // the backward pass (BackwardTensors) or with this scope, not left to the finalizer.
        BackwardTensors.Keep(gradOutputs);
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (dx, dw) = Gradients(saved[0], saved[1], gradOutputs[0]);
        return BackwardTensors.Keep([dx.MoveToOuterDisposeScope(), dw.MoveToOuterDisposeScope()]);
    }
}
