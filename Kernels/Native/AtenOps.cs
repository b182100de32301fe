using static TorchSharp.torch;

namespace Orchestrator.Kernels.Native;

/// <summary>
/// The ATen operators TorchSharp 0.107 does not expose, through <see cref="AtenBridge"/> on TorchSharp's tensor
/// handles. Results are new tensors owned by the caller (registered on the current dispose scope, like any
/// TorchSharp result); autograd-relevant ones carry ATen's own backward, so gradients flow through them as
/// through any TorchSharp op. A C++ failure comes back as <see cref="AtenBridgeException"/> with its message.
/// </summary>
public static unsafe class AtenOps
{
    /// <summary>
    /// <c>at::_grouped_mm(a, b, offsets)</c>: <paramref name="a"/> [rows, k] holds the groups' rows one after another,
    /// <paramref name="b"/> [groups, k, n] one matrix per group, <paramref name="offsets"/> int32 [groups] each group's
    /// end row (on the device, so no host synchronisation). Returns [rows, n] in <paramref name="outputType"/>
    /// (default: a's dtype). On Hopper, bf16 only, with group starts at multiples of 16 rows.
    /// </summary>
    public static Tensor GroupedMm(Tensor a, Tensor b, Tensor offsets, ScalarType? outputType = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(offsets);
        IntPtr result;
        AtenBridge.Check(AtenBridge.Native.GroupedMm(a.Handle, b.Handle, offsets.Handle, outputType is { } t ? (int)t : -1, &result));
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        GC.KeepAlive(offsets);
        return Tensor.UnsafeCreateTensor(result);
    }

    /// <summary>
    /// <c>at::rms_norm(x, [x.shape[-1]], weight, eps)</c>: RMSNorm over the last dimension (ATen's fused kernel where
    /// it has one), with its backward.
    /// </summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        IntPtr result;
        AtenBridge.Check(AtenBridge.Native.RmsNorm(x.Handle, weight.Handle, eps, &result));
        GC.KeepAlive(x);
        GC.KeepAlive(weight);
        return Tensor.UnsafeCreateTensor(result);
    }

    /// <summary>
    /// One AdamW update of every parameter in place, by ATen's fused multi-tensor kernel (<c>at::_fused_adamw_</c>):
    /// p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε),
    /// t read from <paramref name="step"/> (a float32 tensor on the parameters' device). All lists have one entry per
    /// parameter, every tensor float32 on one CUDA device.
    /// </summary>
    public static void FusedAdamW(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> gradients, IReadOnlyList<Tensor> firstMoments,
        IReadOnlyList<Tensor> secondMoments, Tensor step, double lr, double beta1, double beta2, double weightDecay, double eps)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentNullException.ThrowIfNull(firstMoments);
        ArgumentNullException.ThrowIfNull(secondMoments);
        ArgumentNullException.ThrowIfNull(step);
        var count = parameters.Count;
        if (gradients.Count != count || firstMoments.Count != count || secondMoments.Count != count)
            throw new ArgumentException($"fused AdamW: {count} parameters, {gradients.Count} gradients, {firstMoments.Count} first and {secondMoments.Count} second moments", nameof(gradients));
        var p = Handles(parameters);
        var g = Handles(gradients);
        var m = Handles(firstMoments);
        var v = Handles(secondMoments);
        fixed (IntPtr* pp = p, gp = g, mp = m, vp = v)
            AtenBridge.Check(AtenBridge.Native.FusedAdamW(pp, gp, mp, vp, count, step.Handle, lr, beta1, beta2, weightDecay, eps));
        GC.KeepAlive(parameters);
        GC.KeepAlive(gradients);
        GC.KeepAlive(firstMoments);
        GC.KeepAlive(secondMoments);
        GC.KeepAlive(step);
    }

    private static IntPtr[] Handles(IReadOnlyList<Tensor> tensors)
    {
        var handles = new IntPtr[tensors.Count];
        for (var i = 0; i < handles.Length; i++) handles[i] = (tensors[i] ?? throw new ArgumentException($"tensor {i} is null", nameof(tensors))).Handle;
        return handles;
    }
}
